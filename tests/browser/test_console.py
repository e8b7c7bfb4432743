"""The administrators' console in headless Chromium, signed in through the emulator's LINE WORKS
sign-in page: lock out a reported member, answer a ticket, edit an answer and see the bot use it in the
talk, round-trip the FAQ through CSV; a member who is not an administrator sees nothing.
Screenshots go to test-artifacts/console-*.png."""
from pathlib import Path

import pytest
from sqlalchemy import select

from emulator.directory import ADMIN, SEED_USERS, SUPER_ADMIN
from handlers import records
from handlers import ticket_records as tr
from tests.lost_device.conftest import file_report
from tests.stack import running_stack, settled
from tests.talk import Talk, message_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TANAKA, SUZUKI = SEED_USERS["tanaka"], SEED_USERS["suzuki"]

pytestmark = pytest.mark.browser


@pytest.fixture
def stack(keypair, sqlite_url, clock):
    env = {"BOT_ADMIN_USER_IDS": f"{ADMIN.user_id},{SUPER_ADMIN.email}"}
    with running_stack(keypair, sqlite_url, clock=clock, env_overrides=env) as stack:
        stack.runtime.worker.housekeeping.every_seconds = 0.0
        yield stack


def sign_in(browser, stack, user_id, width=1280, height=800):
    page = browser.new_page(viewport={"width": width, "height": height}, locale="ja-JP")
    page.goto(f"{stack.bot_url}/admin/")
    page.click(f"button[data-user-id='{user_id}']")  # the emulator's LINE WORKS sign-in page
    return page


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_administrator_locks_out_a_reported_member(browser, stack):
    file_report(Talk(stack.emulator, TANAKA.user_id))
    page = sign_in(browser, stack, ADMIN.user_id)
    page.wait_for_selector("text=対応中の紛失報告")
    shot(page, "home")
    page.click("nav >> text=紛失報告")
    page.click("text=R-0001")
    assert "田中" in page.inner_text("main") and TANAKA.user_id not in page.inner_text("dl.fields")
    page.click("button:has-text('ロックアウト（強制ログアウト＋一時停止）')")
    page.wait_for_selector("text=ロックアウトを実行")
    shot(page, "lockout-confirm")
    page.click("button:has-text('ロックアウトを実行')")
    page.wait_for_selector("text=操作の結果")
    settled(stack)
    with stack.runtime.store.engine.connect() as conn:
        report = records.get_report(conn, 1)
        actions = [r.action for r in conn.execute(select(records.audit_log))]
    assert report.status == "locked_out"
    assert "lockout_confirmed" in actions and "console_sign_in" in actions
    calls = [c["path"] for c in stack.emulator.calls()]
    assert any(p.endswith("/force-logout") for p in calls) and any(p.endswith("/suspend") for p in calls)
    page.goto(f"{stack.bot_url}/admin/reports/1")
    assert "ロックアウト済み" in page.inner_text("main")


def test_an_administrator_answers_a_ticket_and_the_employee_gets_it(browser, stack):
    employee = Talk(stack.emulator, TANAKA.user_id)
    fallback = employee.say("社内報の原稿はいつまでに出せばいいですか")[-1]
    employee.press(fallback, "担当者に聞く")
    page = sign_in(browser, stack, ADMIN.user_id)
    page.click("nav >> text=質問")
    page.wait_for_selector("text=Q-0001")
    page.fill("#Q1 textarea[name=extra]", "毎月5日までに総務へ送ってください。")
    shot(page, "questions")
    before = employee.seen()
    page.click("#Q1 button:has-text('回答を送る')")
    page.wait_for_selector("text=操作の結果")
    assert "送りました" in page.inner_text("main")
    answer = message_text(employee.wait_new(before)[-1])
    assert "担当者から回答" in answer and "毎月5日までに総務へ" in answer
    with stack.runtime.store.engine.connect() as conn:
        assert [t.status for t in tr.open_tickets(conn)] == []


def test_an_edited_answer_is_used_in_the_talk_at_once(browser, stack):
    page = sign_in(browser, stack, ADMIN.user_id)
    page.goto(f"{stack.bot_url}/admin/faq?q=通信費は誰が払うの？")
    link = page.locator("table a").filter(has_text="通信費").first
    link.click()
    page.fill("textarea[name=answer]", "通信費の手当は月5,000円です（コンソールで変更）。")
    page.click("button:has-text('保存する')")
    page.wait_for_selector("text=保存しました")
    shot(page, "faq-edit")
    reply = Talk(stack.emulator, SUZUKI.user_id).say("通信費は誰が払うの？")[-1]
    assert "月5,000円" in message_text(reply)


def test_the_faq_round_trips_through_csv(browser, stack, tmp_path):
    page = sign_in(browser, stack, ADMIN.user_id)
    page.goto(f"{stack.bot_url}/admin/faq")
    with page.expect_download() as download:
        page.click("text=CSV で書き出す")
    exported = tmp_path / "faq.csv"
    download.value.save_as(exported)
    raw = exported.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so that Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "id,category,title,questions,answer"
    changed = text.replace("月3,000円", "月3,500円", 1)
    assert changed != text
    edited = tmp_path / "faq-edited.csv"
    edited.write_bytes(b"\xef\xbb\xbf" + changed.encode())
    page.set_input_files("input[type=file]", str(edited))
    page.click("button:has-text('読み込む')")
    page.wait_for_selector("text=件を保存しました")
    assert "1件を保存しました" in page.inner_text("main")
    reply = Talk(stack.emulator, SUZUKI.user_id).say("通信費は誰が払うの？")[-1]
    assert "3,500円" in message_text(reply)


def test_a_member_who_is_not_an_administrator_sees_nothing(browser, stack):
    file_report(Talk(stack.emulator, TANAKA.user_id))
    page = sign_in(browser, stack, SUZUKI.user_id)
    page.wait_for_selector("text=管理者専用")
    body = page.inner_text("body")
    assert "R-0001" not in body and "田中" not in body
    shot(page, "not-admin")
    page.goto(f"{stack.bot_url}/admin/reports")
    assert "R-0001" not in page.inner_text("body")  # back to the sign-in page


def test_a_post_without_a_csrf_token_is_refused(browser, stack):
    page = sign_in(browser, stack, ADMIN.user_id)
    page.wait_for_selector("text=対応中の紛失報告")
    response = page.request.post(f"{stack.bot_url}/admin/command", form={"text": "/reports"})
    assert response.status == 400


def test_the_console_fits_a_phone(browser, stack):
    file_report(Talk(stack.emulator, TANAKA.user_id))
    page = sign_in(browser, stack, ADMIN.user_id, width=390, height=844)
    page.wait_for_selector("text=対応中の紛失報告")
    no_sideways_scroll(page)
    shot(page, "phone-home")
    page.goto(f"{stack.bot_url}/admin/reports/1")
    no_sideways_scroll(page)
    shot(page, "phone-report")
