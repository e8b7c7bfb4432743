"""The emulated member directory: a fixed Japanese seed plus optional synthetic members.

Users are stored in the API's own JSON shape (section 6.1 of the API notes), so the
platform endpoints can return them as they are.
"""
import copy
from dataclasses import dataclass

from emulator.util import utc_now_iso

DOMAIN_NAME = "example.co.jp"

# The administrators' talk room (a 1:N channel that contains the bot).
ADMIN_CHANNEL_ID = "ch-admin-room"

ORG_UNITS = {
    "ou-soumu": "総務・IT",
    "ou-tenpo": "店舗",
    "ou-butsuryu": "物流",
    "ou-kaigo": "介護",
}

ROLE_SUPER_ADMIN = "super_admin"
ROLE_ADMIN = "admin"
ROLE_MEMBER = "member"


@dataclass(frozen=True)
class SeedUser:
    user_id: str
    email: str
    last_name: str
    first_name: str
    phonetic_last: str
    phonetic_first: str
    org_unit_id: str
    position: str
    is_manager: bool = False
    role: str = ROLE_MEMBER
    state: str = "active"  # active | suspended | deleted | pending
    employee_number: str = ""
    cell_phone: str = ""


def _id(n: int) -> str:
    # Real ids are opaque UUIDs; the numeric tail keeps ours easy to spot in logs.
    return f"5c1e7a9b-4d2f-4e8a-9b0c-{n:012d}"


def _seed(n, key, last, first, p_last, p_first, unit, position, **kw) -> tuple[str, SeedUser]:
    return key, SeedUser(
        user_id=_id(n), email=f"{key}@{DOMAIN_NAME}",
        last_name=last, first_name=first, phonetic_last=p_last, phonetic_first=p_first,
        org_unit_id=unit, position=position,
        employee_number=f"E{n:04d}", cell_phone=f"090-0000-{n:04d}", **kw,
    )


# Keyed by the email's local part, e.g. SEED_USERS["tanaka"].user_id / .email
SEED_USERS: dict[str, SeedUser] = dict([
    _seed(1, "yamamoto", "山本", "健一", "ヤマモト", "ケンイチ", "ou-soumu", "代表取締役",
          is_manager=True, role=ROLE_SUPER_ADMIN),
    _seed(2, "sato", "佐藤", "美咲", "サトウ", "ミサキ", "ou-soumu", "総務・IT担当", role=ROLE_ADMIN),
    _seed(3, "tanaka", "田中", "太郎", "タナカ", "タロウ", "ou-tenpo", "店長", is_manager=True),
    _seed(4, "suzuki", "鈴木", "花子", "スズキ", "ハナコ", "ou-tenpo", "販売スタッフ"),
    _seed(5, "takahashi", "高橋", "健太", "タカハシ", "ケンタ", "ou-tenpo", "販売スタッフ"),
    _seed(6, "ito", "伊藤", "誠", "イトウ", "マコト", "ou-butsuryu", "センター長", is_manager=True),
    _seed(7, "watanabe", "渡辺", "由美", "ワタナベ", "ユミ", "ou-butsuryu", "配送スタッフ"),
    _seed(8, "nakamura", "中村", "翔", "ナカムラ", "ショウ", "ou-butsuryu", "配送スタッフ"),
    _seed(9, "kobayashi", "小林", "直子", "コバヤシ", "ナオコ", "ou-kaigo", "施設長", is_manager=True),
    _seed(10, "kato", "加藤", "大輔", "カトウ", "ダイスケ", "ou-kaigo", "介護職員"),
    _seed(11, "yoshida", "吉田", "拓也", "ヨシダ", "タクヤ", "ou-tenpo", "販売スタッフ", state="suspended"),
    _seed(12, "yamada", "山田", "一郎", "ヤマダ", "イチロウ", "ou-butsuryu", "配送スタッフ", state="deleted"),
    _seed(13, "matsumoto", "松本", "さくら", "マツモト", "サクラ", "ou-kaigo", "介護職員", state="pending"),
])

SUPER_ADMIN = SEED_USERS["yamamoto"]
ADMIN = SEED_USERS["sato"]
ADMIN_CHANNEL_MEMBERS = (SUPER_ADMIN.user_id, ADMIN.user_id)

SYNTHETIC_UNITS = ("ou-tenpo", "ou-butsuryu", "ou-kaigo")


def synthetic_user_id(n: int) -> str:
    return f"9a8b7c6d-0000-4000-8000-{n:012d}"


def _user_object(seed: SeedUser, domain_id: int) -> dict:
    return {
        "userId": seed.user_id,
        "email": seed.email,
        "userName": {
            "lastName": seed.last_name,
            "firstName": seed.first_name,
            "phoneticLastName": seed.phonetic_last,
            "phoneticFirstName": seed.phonetic_first,
        },
        "isAdministrator": seed.role in (ROLE_SUPER_ADMIN, ROLE_ADMIN),
        "isPending": seed.state == "pending",
        "isSuspended": seed.state == "suspended",
        "isDeleted": seed.state == "deleted",
        "isAwaiting": False,
        "suspendedReason": "MASTER" if seed.state == "suspended" else None,
        "employeeNumber": seed.employee_number,
        "cellPhone": seed.cell_phone,
        "locale": "ja_JP",
        "timeZone": "Asia/Tokyo",
        "organizations": [{
            "domainId": domain_id,
            "primary": True,
            "email": seed.email,
            "orgUnits": [{
                "orgUnitId": seed.org_unit_id,
                "orgUnitName": ORG_UNITS[seed.org_unit_id],
                "primary": True,
                "positionName": seed.position,
                "isManager": seed.is_manager,
            }],
        }],
    }


def _synthetic_user(n: int, domain_id: int) -> dict:
    unit = SYNTHETIC_UNITS[n % len(SYNTHETIC_UNITS)]
    email = f"emp{n:05d}@{DOMAIN_NAME}"
    return {
        "userId": synthetic_user_id(n),
        "email": email,
        "userName": {"lastName": "社員", "firstName": f"{n:05d}",
                     "phoneticLastName": "シャイン", "phoneticFirstName": f"{n:05d}"},
        "isAdministrator": False, "isPending": False, "isSuspended": False,
        "isDeleted": False, "isAwaiting": False, "suspendedReason": None,
        "employeeNumber": f"S{n:05d}", "cellPhone": "",
        "locale": "ja_JP", "timeZone": "Asia/Tokyo",
        "organizations": [{"domainId": domain_id, "primary": True, "email": email, "orgUnits": [{
            "orgUnitId": unit, "orgUnitName": ORG_UNITS[unit], "primary": True,
            "positionName": "スタッフ", "isManager": False}]}],
    }


class Directory:
    """Members in a stable order, looked up by resource id or (case-insensitive) email.

    Not thread-safe by itself: the caller (EmulatorState) holds the lock.
    """

    def __init__(self, domain_id: int, directory_size: int = 0):
        self.users: list[dict] = [_user_object(s, domain_id) for s in SEED_USERS.values()]
        self.users += [_synthetic_user(n, domain_id) for n in range(1, directory_size + 1)]
        self._by_id = {u["userId"]: u for u in self.users}
        self._by_email = {u["email"].lower(): u for u in self.users}
        self.super_admin_ids = {s.user_id for s in SEED_USERS.values() if s.role == ROLE_SUPER_ADMIN}
        self.force_logout_at: dict[str, str] = {}
        self.version = 0  # bumped on every change so the page can skip re-downloading

    def find(self, user_id_or_email: str) -> dict | None:
        return self._by_id.get(user_id_or_email) or self._by_email.get(user_id_or_email.lower())

    def public(self, user: dict) -> dict:
        return copy.deepcopy(user)

    def org_unit_members(self, org_unit_id: str) -> list[dict]:
        return [u for u in self.users
                if any(ou["orgUnitId"] == org_unit_id
                       for org in u["organizations"] for ou in org["orgUnits"])]

    def mark_force_logout(self, user: dict) -> None:
        self.force_logout_at[user["userId"]] = utc_now_iso()
        self.version += 1

    def set_suspended(self, user: dict, suspended: bool) -> None:
        user["isSuspended"] = suspended
        user["suspendedReason"] = "MASTER" if suspended else None
        self.version += 1

    def summary(self, user: dict) -> dict:
        """What the control API and the page show for one member."""
        name = user["userName"]
        unit = user["organizations"][0]["orgUnits"][0]
        return {
            "userId": user["userId"],
            "email": user["email"],
            "name": f'{name["lastName"]} {name["firstName"]}',
            "orgUnitName": unit["orgUnitName"],
            "positionName": unit["positionName"],
            "isManager": unit["isManager"],
            "isAdministrator": user["isAdministrator"],
            "isSuperAdministrator": user["userId"] in self.super_admin_ids,
            "isSuspended": user["isSuspended"],
            "isDeleted": user["isDeleted"],
            "isPending": user["isPending"],
            "forceLoggedOutAt": self.force_logout_at.get(user["userId"]),
        }
