"""The emulator's chat page in headless Chromium: ask, read the answer, press a chip, screenshot.

Runs at a phone size (390×844) and a desktop size (1280×800): 送信 is clicked (not Enter), the newest
bot reply is whole on screen once its chips are drawn, nothing scrolls sideways, 👍 is drawn in colour.

Uses the `browser` fixture of tests/conftest.py (Debian's chromium, `make browser-deps`).
"""
from pathlib import Path

import pytest

from emulator.directory import SEED_USERS
from tests.stack import running_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# The newest bot reply against the message list and the window, after two frames (layout done).
NEWEST_BOT_REPLY_BOX = """async () => {
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const rect = (node) => { const r = node.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, left: r.left, right: r.right }; };
  const bots = document.querySelectorAll("#messages .msg.bot");
  return { reply: rect(bots[bots.length - 1]), list: rect(document.getElementById("messages")),
           width: window.innerWidth, height: window.innerHeight };
}"""

# Draws 👍 in the page's own font and looks for a clearly coloured pixel (an empty box is grey).
THUMBS_UP_IN_COLOUR = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d");
  ctx.font = `48px ${getComputedStyle(document.body).fontFamily}`;
  ctx.textBaseline = "top";
  ctx.fillText("\\u{1F44D}", 4, 4);
  const data = ctx.getImageData(0, 0, 64, 64).data;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 80) return true;
  }
  return false;
}"""


def _open_chat(browser, stack, viewport, user_id):
    page = browser.new_page(viewport=viewport, locale="ja-JP")
    failures = []  # responses >= 400 (a favicon 404 included) and console errors
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(stack.emulator.base_url + "/")
    page.wait_for_selector(f"#identity option[value='{user_id}']", state="attached")
    page.select_option("#identity", user_id)
    page.wait_for_selector(".menu-action")  # the bot's persistent menu
    return page, failures


def _click_send(page, text):
    """Type, then click 送信 (not Enter): the button must be on screen and not covered."""
    page.fill("#input", text)
    box = page.locator("#send").bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box and 0 <= box["x"] and box["x"] + box["width"] <= width, box
    assert 0 <= box["y"] and box["y"] + box["height"] <= height, box
    on_top = page.evaluate("([x, y]) => document.elementFromPoint(x, y).id",
                           [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert on_top == "send", f"送信 is covered by #{on_top}"
    page.locator("#send").click()


def _wait_for_bot_reply_with_chips(page, bot_messages_before):
    page.wait_for_function(
        f"""() => {{
          const all = document.querySelectorAll('#messages .msg');
          return document.querySelectorAll('#messages .msg.bot').length > {bot_messages_before}
            && all[all.length - 1].classList.contains('bot')
            && document.querySelectorAll('#quick-replies .quick-reply').length > 0;
        }}""")


def _assert_newest_bot_reply_fully_visible(page):
    seen = page.evaluate(NEWEST_BOT_REPLY_BOX)
    reply, listing = seen["reply"], seen["list"]
    assert listing["top"] - 1 <= reply["top"] and reply["bottom"] <= listing["bottom"] + 1, seen
    assert 0 <= reply["top"] and reply["bottom"] <= seen["height"], seen
    assert 0 <= reply["left"] and reply["right"] <= seen["width"], seen


def _assert_no_sideways_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_employee_asks_reads_the_answer_and_presses_a_quick_reply(browser, keypair, sqlite_url, viewport):
    tanaka = SEED_USERS["tanaka"]
    with running_stack(keypair, sqlite_url) as stack:
        page, failures = _open_chat(browser, stack, viewport, tanaka.user_id)
        _assert_no_sideways_scroll(page)

        bot_messages_before = page.locator(".msg.bot").count()
        _click_send(page, "通信費は誰が払うの？")
        page.wait_for_selector(".msg.user >> text=通信費は誰が払うの？")
        answer = page.wait_for_selector(".msg.bot >> text=円")
        assert "3,000" in answer.inner_text()
        _wait_for_bot_reply_with_chips(page, bot_messages_before)
        _assert_newest_bot_reply_fully_visible(page)
        _assert_no_sideways_scroll(page)

        chips = page.locator(".quick-reply")
        assert chips.count() >= 3
        assert page.locator(".quick-reply", has_text="役に立った").count() == 1
        assert page.evaluate(THUMBS_UP_IN_COLOUR), "👍 is not drawn in colour: `make browser-deps` (emoji font)"
        bot_messages_before = page.locator(".msg.bot").count()
        chip = page.locator(".quick-reply", has_text="データ").first
        chip_label = chip.inner_text()
        chip.click()
        page.wait_for_function(f"document.querySelectorAll('.msg.bot').length > {bot_messages_before}")
        last = page.locator(".msg.bot").last.inner_text()
        assert "標準" in last or "画質" in last, (chip_label, last)

        # The menu's 「よくある質問」 answers with the most chips (a category each).
        bot_messages_before = page.locator(".msg.bot").count()
        page.locator(".menu-action", has_text="よくある質問").click()
        _wait_for_bot_reply_with_chips(page, bot_messages_before)
        assert page.locator(".quick-reply").count() >= 5
        _assert_newest_bot_reply_fully_visible(page)
        _assert_no_sideways_scroll(page)

        # What the person typed is shown as text, never run as markup.
        bot_messages_before = page.locator(".msg.bot").count()
        _click_send(page, "<img src=x onerror=\"document.title='pwned'\">")
        page.wait_for_selector(".msg.user >> text=<img src=x")
        _wait_for_bot_reply_with_chips(page, bot_messages_before)
        assert page.title() != "pwned"
        assert page.locator(".msg img").count() == 0
        _assert_newest_bot_reply_fully_visible(page)
        _assert_no_sideways_scroll(page)

        if viewport == PHONE:
            # The member/log panel is a drawer: closed, the talk has the whole width.
            assert not page.locator("#directory").is_visible()
            assert page.locator("#messages").bounding_box()["width"] >= viewport["width"] - 1
            page.click("#side-toggle")
            member = page.locator("#directory li", has_text="田中").first
            member.wait_for()
            box = member.bounding_box()
            assert 0 <= box["x"] and box["x"] + box["width"] <= viewport["width"], box
            _assert_no_sideways_scroll(page)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat-page-390-members.png"))
            page.click("#side-toggle")
            assert not page.locator("#directory").is_visible()

        icon = page.request.get(stack.emulator.base_url + "/favicon.ico")
        assert icon.status == 200 and "svg" in icon.headers["content-type"]
        assert failures == []

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"chat-page-{viewport['width']}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        if viewport == DESKTOP:
            page.screenshot(path=str(ARTIFACTS / "chat-page.png"))  # the name README gives
        sent = [m for m in stack.emulator.bot_messages(user_id=tanaka.user_id)]
        assert len(sent) >= 3
        page.close()


def test_reset_keeps_the_bots_persistent_menu(browser, keypair, sqlite_url):
    tanaka = SEED_USERS["tanaka"]
    with running_stack(keypair, sqlite_url) as stack:
        page, failures = _open_chat(browser, stack, PHONE, tanaka.user_id)
        menu = page.locator(".menu-action").all_inner_texts()
        _click_send(page, "通信費は誰が払うの？")
        page.wait_for_selector(".msg.bot >> text=円")

        epoch = page.evaluate("state.epoch")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#reset")
        page.wait_for_function(f"state.epoch > {epoch}")
        assert page.locator("#messages .msg").count() == 0
        assert stack.emulator.info()["persistentMenu"] is not None
        page.wait_for_timeout(1500)  # two more polls: the menu stays
        assert page.locator(".menu-action").all_inner_texts() == menu

        # And it still works: the bot answers a menu press after the reset.
        page.locator(".menu-action", has_text="よくある質問").click()
        page.wait_for_selector(".msg.bot")
        assert failures == []
        page.close()
