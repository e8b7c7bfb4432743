"""Directory API: get, list with cursors, org units, force-logout, suspend/unsuspend."""
import time
from urllib.parse import quote

import pytest
import requests

from emulator.directory import ADMIN, SEED_USERS, SUPER_ADMIN, Directory
from emulator.testing import running_emulator
from tests.emulator.conftest import Api, make_assertion, make_config, token_request

TANAKA = SEED_USERS["tanaka"]


def test_get_user_by_id_returns_the_full_object(api):
    response = api.get(f"/users/{TANAKA.user_id}")
    assert response.status_code == 200
    user = response.json()
    assert user["userId"] == TANAKA.user_id
    assert user["email"] == "tanaka@example.co.jp"
    assert user["userName"] == {"lastName": "田中", "firstName": "太郎",
                                "phoneticLastName": "タナカ", "phoneticFirstName": "タロウ"}
    assert user["isAdministrator"] is False
    assert {"isPending", "isSuspended", "isDeleted", "suspendedReason", "employeeNumber",
            "cellPhone"} <= user.keys()
    [org] = user["organizations"]
    [unit] = org["orgUnits"]
    assert org["domainId"] == 10000001 and unit["orgUnitName"] == "店舗" and unit["isManager"] is True


def test_get_user_by_url_encoded_email(api):
    response = api.get("/users/" + quote("tanaka@example.co.jp", safe=""))
    assert response.status_code == 200
    assert response.json()["userId"] == TANAKA.user_id


def test_unknown_user_is_404(api):
    response = api.get("/users/" + quote("nobody@example.co.jp", safe=""))
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_seed_has_the_promised_people():
    d = Directory(10000001)
    by_email = {u["email"]: u for u in d.users}
    assert by_email[SUPER_ADMIN.email]["isAdministrator"] and SUPER_ADMIN.user_id in d.super_admin_ids
    assert by_email[ADMIN.email]["isAdministrator"] and ADMIN.user_id not in d.super_admin_ids
    assert sum(u["isSuspended"] for u in d.users) == 1
    assert sum(u["isDeleted"] for u in d.users) == 1
    assert sum(u["isPending"] for u in d.users) == 1
    managers = {ou["orgUnitName"] for u in d.users for o in u["organizations"]
                for ou in o["orgUnits"] if ou["isManager"] and not u["isAdministrator"]}
    assert managers == {"店舗", "物流", "介護"}


def _all_pages(api, count):
    users, cursor, pages = [], None, 0
    while True:
        params = {"count": count}
        if cursor:
            params["cursor"] = cursor  # requests URL-encodes it
        response = api.get("/users", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        users += body["users"]
        pages += 1
        cursor = body["responseMetaData"].get("nextCursor")
        if cursor is None:
            assert "nextCursor" not in body["responseMetaData"]
            return users, pages


def test_paging_through_all_users(api):
    users, pages = _all_pages(api, count=5)
    assert len(users) == len(SEED_USERS) and pages == 3
    assert [u["userId"] for u in users] == [s.user_id for s in SEED_USERS.values()]
    assert any(u["isDeleted"] for u in users)  # deleted members stay listed


def test_cursor_needs_url_encoding(api):
    cursor = api.get("/users", params={"count": 2}).json()["responseMetaData"]["nextCursor"]
    assert set("+/=") & set(cursor)
    # A client that pastes the cursor into the URL unencoded: '+' becomes a space.
    raw = requests.get(f"{api.base}/users?count=2&cursor={cursor}", headers=api.headers, timeout=5)
    assert raw.status_code == 400
    assert raw.json()["code"] == "INVALID_PARAMETER"
    encoded = api.get("/users", params={"count": 2, "cursor": cursor}).json()
    assert encoded["users"][0]["userId"] == list(SEED_USERS.values())[2].user_id


@pytest.mark.parametrize("count", ["0", "101", "abc"])
def test_count_out_of_range_is_400(api, count):
    assert api.get("/users", params={"count": count}).status_code == 400


def test_org_unit_members(api):
    response = api.get("/orgunits/ou-tenpo/members")
    assert response.status_code == 200
    emails = {u["email"] for u in response.json()["members"]}
    assert {"tanaka@example.co.jp", "suzuki@example.co.jp"} <= emails
    assert "ito@example.co.jp" not in emails
    assert api.get("/orgunits/ou-none/members").status_code == 404


def _state(emu, user_id):
    return next(u for u in emu.directory() if u["userId"] == user_id)


def test_force_logout_is_202_and_shown(emu, api):
    assert _state(emu, TANAKA.user_id)["forceLoggedOutAt"] is None
    assert api.post(f"/users/{TANAKA.user_id}/force-logout").status_code == 202
    assert _state(emu, TANAKA.user_id)["forceLoggedOutAt"].endswith("Z")
    assert api.post("/users/nobody/force-logout").status_code == 404


def test_suspend_and_unsuspend(emu, api):
    assert api.post(f"/users/{TANAKA.user_id}/suspend").status_code == 204
    user = api.get(f"/users/{TANAKA.user_id}").json()
    assert user["isSuspended"] is True and user["suspendedReason"] == "MASTER"
    assert _state(emu, TANAKA.user_id)["isSuspended"] is True
    assert api.post(f"/users/{TANAKA.user_id}/unsuspend").status_code == 204
    assert api.get(f"/users/{TANAKA.user_id}").json()["isSuspended"] is False


def test_suspend_by_email_works(api):
    assert api.post("/users/" + quote(ADMIN.email, safe="") + "/suspend").status_code == 204
    assert api.get(f"/users/{ADMIN.user_id}").json()["isSuspended"] is True


@pytest.mark.parametrize("key", ["yamamoto", "yamada", "matsumoto"])  # super admin, deleted, pending
def test_suspend_refused_for_super_admin_and_members_not_in_use(api, key):
    response = api.post(f"/users/{SEED_USERS[key].user_id}/suspend")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"
    assert api.get(f"/users/{SEED_USERS[key].user_id}").json()["isSuspended"] is False


def test_suspend_of_a_member_already_suspended_is_400_and_changes_nothing(emu, api):
    yoshida = SEED_USERS["yoshida"]  # suspended in the seed
    response = api.post(f"/users/{yoshida.user_id}/suspend")
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_PARAMETER", "description": "only members in use can be suspended"}
    assert api.get(f"/users/{yoshida.user_id}").json()["isSuspended"] is True
    # One the API itself suspended: the second suspend is refused the same way.
    assert api.post(f"/users/{TANAKA.user_id}/suspend").status_code == 204
    assert api.post(f"/users/{TANAKA.user_id}/suspend").status_code == 400


def test_suspend_of_a_member_not_started_yet_is_400(emu, api):
    state = emu.app.extensions["emulator"]
    with state.lock:
        state.directory.find(TANAKA.user_id)["isAwaiting"] = True
    response = api.post(f"/users/{TANAKA.user_id}/suspend")
    assert response.status_code == 400 and response.json()["code"] == "INVALID_PARAMETER"
    assert api.get(f"/users/{TANAKA.user_id}").json()["isSuspended"] is False


def test_super_admin_suspend_has_the_documented_error_body(api):
    response = api.post(f"/users/{SUPER_ADMIN.user_id}/suspend")
    assert response.status_code == 400
    assert set(response.json()) == {"code", "description"} and "super administrator" in response.json()["description"]


def test_suspend_unknown_user_is_404(api):
    assert api.post("/users/nobody/suspend").status_code == 404


def test_reset_restores_the_seed(emu, api):
    api.post(f"/users/{TANAKA.user_id}/suspend")
    emu.reset()
    assert _state(emu, TANAKA.user_id)["isSuspended"] is False


def test_ten_thousand_synthetic_members(keypair):
    started = time.perf_counter()
    with running_emulator(make_config(keypair[1], directory_size=10_000)) as emu:
        assert time.perf_counter() - started < 2
        token = token_request(emu, make_assertion(keypair[0])).json()["access_token"]
        api = Api(emu, token)
        last = api.get("/users/emp10000%40example.co.jp").json()
        assert last["userName"]["lastName"] == "社員" and last["isSuspended"] is False
        page = api.get("/users", params={"count": 100}).json()
        assert len(page["users"]) == 100 and "nextCursor" in page["responseMetaData"]
        assert len(emu.directory()) == len(SEED_USERS) + 10_000
