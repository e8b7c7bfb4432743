"""Administrator commands from people who are not administrators, and from the wrong room.

Every command (the built-in ones and those other features register) and every admin button, including
a forged press of an administrator's real confirmation: refused politely, written to the audit log,
no account API call, and the confirmation still usable by the administrator who asked for it.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import records
from emulator.directory import ADMIN, ADMIN_CHANNEL_ID, SEED_USERS
from handlers import admin
from tests.hostile.conftest import FastTalk as Talk
from tests.stack import running_stack
from tests.talk import message_text

TANAKA = SEED_USERS["tanaka"]
SUZUKI = SEED_USERS["suzuki"]
YOSHIDA = SEED_USERS["yoshida"]  # suspended in the seed
ACCOUNT_OPS = ("force-logout", "suspend", "unsuspend")
SHOP_ROOM = "ch-shop-floor"

ARGS = {"lockout": SUZUKI.email + " 乗っ取り", "logout": SUZUKI.email, "unlock": YOSHIDA.email,
        "reports": "all", "report": "R-0001", "resolve": "R-0001 勝手に閉じる", "audit": "50",
        "unanswered": "50", "faq": "reload", "reminder": "send policy", "help": ""}


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    with running_stack(keypair, sqlite_url, clock=clock) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        with stack.runtime.store.transaction() as tx:  # a report of Suzuki's, as if filed earlier
            records.create_report(tx, SUZUKI.user_id, "鈴木 花子", "私物スマートフォン", "駅で", "設定していた",
                                  "秘密の補足", clock.now())
        yield stack


def command_lines(stack) -> list[tuple[str, str]]:
    """(command name, what is typed) for every typed command the running bot knows."""
    names = [n for n in admin.COMMANDS if not n.startswith("@")]
    names += list(stack.runtime.services.admin_commands)
    return [(name, f"/{name} {ARGS.get(name, '')}".strip()) for name in names]


def rows(stack, table) -> list:
    with stack.runtime.store.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(list(table.c)[0])))


def account_calls(stack) -> list:
    return [(c["method"], c["path"]) for c in stack.emulator.calls() if c["path"].rsplit("/", 1)[-1] in ACCOUNT_OPS]


def directory_calls_about(stack, *users) -> list:
    marks = [u.user_id for u in users] + [u.email.replace("@", "%40") for u in users] + [u.email for u in users]
    return [c["path"] for c in stack.emulator.calls()
            if c["path"].startswith("/v1.0/users/") and any(m in c["path"] for m in marks)]


def admins_confirmation(stack) -> tuple[str, dict]:
    """An administrator asks for a lockout of Suzuki in the admin room: (token, the confirmation message)."""
    room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    confirm = room.say(f"/lockout {SUZUKI.email}")[0]
    postback = next(a["postback"] for a in confirm["actions"] if a["postback"].startswith("admin:confirm:"))
    return postback.removeprefix("admin:confirm:"), confirm


def send_all(talk: Talk, lines: list[str], buttons: list[str]) -> list[dict]:
    """Type each command, then press each forged button (as a message postback and as a postback event)."""
    before = talk.seen()
    expected = 0
    for line in lines:
        assert talk.emulator.say(talk.user_id, line, channel_id=talk.channel_id)["status"] == 200
        expected += 1
    for data in buttons:
        assert talk.emulator.say(talk.user_id, "ロックアウトを実行", channel_id=talk.channel_id,
                                 postback=data)["status"] == 200
        assert talk.emulator.postback(talk.user_id, data, channel_id=talk.channel_id)["status"] == 200
        expected += 2
    return [message_text(m) for m in talk.wait_new(before, expect=expected, timeout=20)]


def test_non_admin_is_refused_everything_and_cannot_use_an_admins_confirmation(stack):
    token, confirm_message = admins_confirmation(stack)
    audit_before = len(rows(stack, records.audit_log))
    lookups_before = directory_calls_about(stack, SUZUKI, YOSHIDA)
    assert len(lookups_before) == 1  # the administrator's own look-up of the target

    commands = command_lines(stack)
    assert {"lockout", "logout", "unlock", "reports", "report", "resolve", "audit", "help", "faq"} <= {
        name for name, _ in commands}
    buttons = [f"admin:confirm:{token}", f"admin:cancel:{token}", "admin:lockout:1", "admin:resolve:1"]
    employee = Talk(stack.emulator, TANAKA.user_id)
    replies = send_all(employee, [line for _, line in commands], buttons)
    # Tanaka also tries the admin room itself.
    in_admin_room = Talk(stack.emulator, TANAKA.user_id, channel_id=ADMIN_CHANNEL_ID)
    replies += send_all(in_admin_room, ["/lockout " + SUZUKI.email, "/audit"], [f"admin:confirm:{token}"])

    assert len(replies) == len(commands) + 2 * len(buttons) + 2 + 2
    assert all("管理者だけ" in r for r in replies), replies
    assert not any("秘密の補足" in r or "R-0001" in r for r in replies)

    refused = rows(stack, records.audit_log)[audit_before:]
    expected_actions = ([f"refused:{name}" for name, _ in commands]
                        + [f"refused:@{b.split(':')[1]}" for b in buttons for _ in (0, 1)]
                        + ["refused:lockout", "refused:audit", "refused:@confirm", "refused:@confirm"])
    assert [r.action for r in refused] == expected_actions
    assert {(r.actor_id, r.result) for r in refused} == {(TANAKA.user_id, "not an administrator")}

    assert account_calls(stack) == []
    assert directory_calls_about(stack, SUZUKI, YOSHIDA) == lookups_before  # nothing looked up for them
    confirmation = rows(stack, records.confirmations)[0]
    assert confirmation.used_at is None and confirmation.admin_id == ADMIN.user_id
    assert rows(stack, records.account_actions) == []
    report = rows(stack, records.reports)[0]
    assert (report.status, report.closed_by) == ("open", None)

    # The administrator's confirmation still works, once.
    room = Talk(stack.emulator, ADMIN.user_id, channel_id=ADMIN_CHANNEL_ID)
    result = message_text(room.press(confirm_message, "実行", expect=2)[-1])
    assert "強制ログアウト: 完了" in result and "アカウント一時停止: 完了" in result
    assert [p.rsplit("/", 1)[-1] for _, p in account_calls(stack)] == ["force-logout", "suspend"]


def test_admin_in_an_ordinary_group_room_is_refused_everything(stack):
    token, _ = admins_confirmation(stack)
    assert stack.emulator.send_event({"type": "join", "source": {"channelId": SHOP_ROOM,
                                                                 "domainId": 10000001}})["status"] == 200
    shop = Talk(stack.emulator, ADMIN.user_id, channel_id=SHOP_ROOM)
    shop.wait_new(0)  # the greeting
    audit_before = len(rows(stack, records.audit_log))
    commands = command_lines(stack)
    buttons = [f"admin:confirm:{token}", f"admin:cancel:{token}", "admin:lockout:1", "admin:resolve:1"]
    replies = send_all(shop, [line for _, line in commands], buttons)

    assert len(replies) == len(commands) + 2 * len(buttons)
    assert all("個別トーク" in r for r in replies), replies
    assert not any("秘密の補足" in r for r in replies)
    refused = rows(stack, records.audit_log)[audit_before:]
    assert [r.action for r in refused] == ([f"refused:{name}" for name, _ in commands]
                                           + [f"refused:@{b.split(':')[1]}" for b in buttons for _ in (0, 1)])
    assert {(r.actor_id, r.result, r.target) for r in refused} == {(ADMIN.user_id, "group room", SHOP_ROOM)}
    assert account_calls(stack) == []
    assert rows(stack, records.confirmations)[0].used_at is None
    assert rows(stack, records.account_actions) == []
    assert rows(stack, records.reports)[0].status == "open"
