"""The emulator's chat page in headless Chromium: ask, read the answer, press a chip, screenshot.

Uses the `browser` fixture of tests/conftest.py (Debian's chromium, `make browser-deps`).
"""
from pathlib import Path

import pytest

from emulator.directory import SEED_USERS
from tests.stack import running_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def test_employee_asks_reads_the_answer_and_presses_a_quick_reply(browser, keypair, sqlite_url):
    tanaka = SEED_USERS["tanaka"]
    with running_stack(keypair, sqlite_url) as stack:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
        page.goto(stack.emulator.base_url + "/")
        page.wait_for_selector(f"#identity option[value='{tanaka.user_id}']", state="attached")
        page.select_option("#identity", tanaka.user_id)

        page.fill("#input", "通信費は誰が払うの？")
        page.click("#send")
        page.wait_for_selector(".msg.user >> text=通信費は誰が払うの？")
        answer = page.wait_for_selector(".msg.bot >> text=円")
        assert "3,000" in answer.inner_text()

        chips = page.locator(".quick-reply")
        assert chips.count() >= 3
        bot_messages_before = page.locator(".msg.bot").count()
        chip = page.locator(".quick-reply", has_text="データ").first
        chip_label = chip.inner_text()
        chip.click()
        page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages_before}")
        last = page.locator(".msg.bot").last.inner_text()
        assert "標準" in last or "画質" in last, (chip_label, last)

        # What the person typed is shown as text, never run as markup.
        bot_messages_before = page.locator(".msg.bot").count()
        page.fill("#input", "<img src=x onerror=\"document.title='pwned'\">")
        page.click("#send")
        page.wait_for_selector(".msg.user >> text=<img src=x")
        page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages_before}")
        assert page.title() != "pwned"
        assert page.locator(".msg img").count() == 0

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "chat-page.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        sent = [m for m in stack.emulator.bot_messages(user_id=tanaka.user_id)]
        assert len(sent) >= 3
