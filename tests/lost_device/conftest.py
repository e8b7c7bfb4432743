import pytest

from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS, SUPER_ADMIN
from tests.stack import running_stack
from tests.talk import Talk

TANAKA = SEED_USERS["tanaka"]


@pytest.fixture
def stack(keypair, database_url, clock):
    env = {"BOT_ADMIN_USER_IDS": f"{ADMIN.user_id},{SUPER_ADMIN.email}"}
    with running_stack(keypair, database_url, clock=clock, env_overrides=env) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        yield stack


@pytest.fixture
def employee(stack):
    return Talk(stack.emulator, TANAKA.user_id)


@pytest.fixture
def admin_room(stack):
    return Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)


def rows(stack, table):
    from sqlalchemy import select

    with stack.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c[list(table.c.keys())[0]])))


def file_report(employee, where="今朝8時ごろ 通勤電車の中", notes="警察に届けました"):
    """The whole report conversation; returns the bot's last messages."""
    first = employee.say("スマホをなくしてしまいました", expect=2)
    device_q = employee.press(first[-1], "報告する")
    employee.press(device_q[-1], "私物スマートフォン")
    lock_q = employee.say(where)
    employee.press(lock_q[-1], "設定していた")
    summary = employee.say(notes)
    return employee.press(summary[-1], "この内容で報告する", expect=1), summary, first
