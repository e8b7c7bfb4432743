"""The talk's stack as the lost-device tests use it: the emulator, the bot, an employee, the admin room."""
from tests.lost_device.conftest import admin_room, employee, stack  # noqa: F401  (fixtures shared as they are)
