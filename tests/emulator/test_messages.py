"""Sending messages: strict content validation, recording, targets, persistent menu."""
import pytest

from emulator.directory import ADMIN_CHANNEL_ID, SEED_USERS
from tests.emulator.conftest import BOT_ID

TANAKA = SEED_USERS["tanaka"]


def message_action(label="OK", **extra):
    return {"type": "message", "label": label, **extra}


def quick_reply(n, action=None):
    action = action or message_action(text="はい")
    return {"items": [{"action": action} for _ in range(n)]}


VALID = {
    "text": {"type": "text", "text": "あ" * 2000},
    "text with quick reply": {"type": "text", "text": "選んでください", "quickReply": quick_reply(13)},
    "quick reply postback": {"type": "text", "text": "x", "quickReply": {"items": [
        {"action": {"type": "postback", "label": "はい", "data": "a=1", "displayText": "はい"}},
        {"action": {"type": "location", "label": "現在地"}},
        {"action": {"type": "camera", "label": "カメラ"}}]}},
    "button_template": {"type": "button_template", "contentText": "どうしますか？", "actions": [
        message_action(f"ボタン{i}", postback=f"b{i}") for i in range(10)]},
    "button uri and copy": {"type": "button_template", "contentText": "x", "actions": [
        {"type": "uri", "label": "サイト", "uri": "https://example.co.jp/"},
        {"type": "copy", "label": "コピー", "copyText": "123"}]},
    "list_template": {"type": "list_template", "coverData": {"title": "一覧"},
                      "elements": [{"title": f"項目{i}", "action": message_action("選択")} for i in range(4)],
                      "actions": [[message_action("前へ"), message_action("次へ")]]},
    "carousel": {"type": "carousel", "columns": [
        {"title": f"列{i}", "text": "説明", "actions": [
            {"type": "postback", "label": "選ぶ", "data": f"c={i}"},
            message_action("詳細", text="詳細")]} for i in range(10)]},
    "link": {"type": "link", "contentText": "手順", "linkText": "開く", "link": "https://example.co.jp/a"},
    "image": {"type": "image", "previewImageUrl": "https://example.co.jp/p.png",
              "originalContentUrl": "https://example.co.jp/o.png"},
    "sticker": {"type": "sticker", "packageId": "1", "stickerId": "2"},
    "flex": {"type": "flex", "altText": "お知らせ", "contents": {"type": "bubble", "body": {
        "type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "hello"}]}}},
}


@pytest.mark.parametrize("name", VALID)
def test_valid_content_is_accepted_and_recorded(emu, api, name):
    response = api.send_to_user(TANAKA.user_id, VALID[name])
    assert response.status_code == 201, response.text
    [recorded] = emu.bot_messages(user_id=TANAKA.user_id)
    assert recorded["content"] == VALID[name]
    assert recorded["target"] == {"kind": "user", "id": TANAKA.user_id}
    assert recorded["from"] == "bot" and recorded["id"] and recorded["time"].endswith("Z")


INVALID = {
    "text of 2001 chars": ({"type": "text", "text": "あ" * 2001}, "content.text"),
    "missing text": ({"type": "text"}, "content.text"),
    "unknown type": ({"type": "voice"}, "content.type"),
    "14 quick replies": ({"type": "text", "text": "x", "quickReply": quick_reply(14)},
                         "content.quickReply.items"),
    "11 buttons": ({"type": "button_template", "contentText": "x",
                    "actions": [message_action() for _ in range(11)]}, "content.actions"),
    "postback in button_template": ({"type": "button_template", "contentText": "x", "actions": [
        {"type": "postback", "label": "x", "data": "d"}]}, "content.actions[0].type"),
    "postback in list_template": ({"type": "list_template", "elements": [
        {"title": "t", "action": {"type": "postback", "label": "x", "data": "d"}}]},
        "content.elements[0].action.type"),
    "quick reply postback without displayText": ({"type": "text", "text": "x", "quickReply": {"items": [
        {"action": {"type": "postback", "label": "はい", "data": "yes"}}]}},
        "content.quickReply.items[0].action.displayText"),
    "quick reply message without text": ({"type": "text", "text": "x", "quickReply": {"items": [
        {"action": message_action("はい")}]}}, "content.quickReply.items[0].action.text"),
    "copy in quick reply": ({"type": "text", "text": "x", "quickReply": {"items": [
        {"action": {"type": "copy", "label": "c", "copyText": "c"}}]}}, "content.quickReply.items[0].action.type"),
    "label over 20": ({"type": "button_template", "contentText": "x",
                       "actions": [message_action("あ" * 21)]}, "content.actions[0].label"),
    "data over 300": ({"type": "carousel", "columns": [{"text": "t", "actions": [
        {"type": "postback", "label": "x", "data": "d" * 301}]}]}, "content.columns[0].actions[0].data"),
    "message text over 300": ({"type": "button_template", "contentText": "x",
                               "actions": [message_action(text="t" * 301)]}, "content.actions[0].text"),
    "postback over 1000": ({"type": "button_template", "contentText": "x",
                            "actions": [message_action(postback="p" * 1001)]}, "content.actions[0].postback"),
    "javascript uri": ({"type": "button_template", "contentText": "x", "actions": [
        {"type": "uri", "label": "x", "uri": "javascript:alert(1)"}]}, "content.actions[0].uri"),
    "11 carousel columns": ({"type": "carousel", "columns": [{"text": "t"}] * 11}, "content.columns"),
    "carousel message without text": ({"type": "carousel", "columns": [{"text": "t", "actions": [
        message_action()]}]}, "content.columns[0].actions[0].text"),
    "flex altText over 400": ({"type": "flex", "altText": "a" * 401, "contents": {"type": "bubble"}},
                              "content.altText"),
    "button contentText over 1000": ({"type": "button_template", "contentText": "x" * 1001,
                                      "actions": [message_action()]}, "content.contentText"),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_content_is_rejected_with_the_field(emu, api, name):
    content, field = INVALID[name]
    response = api.send_to_user(TANAKA.user_id, content)
    assert response.status_code == 400, name
    body = response.json()
    assert body["code"] == "INVALID_PARAMETER"
    assert body["description"].startswith(field + ":"), body["description"]
    assert emu.bot_messages() == []


def test_body_must_be_json(api):
    response = api.post(f"/bots/{BOT_ID}/users/{TANAKA.user_id}/messages",
                        data='{"content": {"type": "text", "text": "x"}}')
    assert response.status_code == 400
    assert "Content-Type" in response.json()["description"]


def test_message_to_user_by_url_encoded_email_is_recorded_under_the_resource_id(emu, api):
    assert api.send_to_user("tanaka%40example.co.jp", {"type": "text", "text": "x"}).status_code == 201
    assert emu.bot_messages(user_id=TANAKA.user_id)[0]["target"]["id"] == TANAKA.user_id


def test_unknown_bot_user_and_channel_are_404(api):
    text = {"content": {"type": "text", "text": "x"}}
    assert api.post(f"/bots/999/users/{TANAKA.user_id}/messages", json=text).status_code == 404
    assert api.send_to_user("nobody@example.co.jp", {"type": "text", "text": "x"}).status_code == 404
    assert api.send_to_user(SEED_USERS["yamada"].user_id, {"type": "text", "text": "x"}).status_code == 404
    response = api.post(f"/bots/{BOT_ID}/channels/no-such-room/messages", json=text)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


def test_channel_message_goes_to_the_admin_room(emu, api):
    response = api.post(f"/bots/{BOT_ID}/channels/{ADMIN_CHANNEL_ID}/messages",
                        json={"content": {"type": "text", "text": "通知"}})
    assert response.status_code == 201
    assert emu.bot_messages(user_id=TANAKA.user_id) == []
    [entry] = emu.bot_messages(channel_id=ADMIN_CHANNEL_ID)
    assert entry["target"] == {"kind": "channel", "id": ADMIN_CHANNEL_ID}


def test_persistent_menu_lifecycle(emu, api):
    path = f"/bots/{BOT_ID}/persistentmenu"
    assert api.get(path).status_code == 404
    menu = {"actions": [message_action("紛失した", postback="lost"),
                        {"type": "uri", "label": "手順", "uri": "https://example.co.jp/help"}]}
    assert api.post(path, json={"content": menu}).status_code == 201
    assert api.get(path).json() == {"content": menu}
    assert emu.info()["persistentMenu"] == menu
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


@pytest.mark.parametrize("actions, field", [
    ([message_action() for _ in range(5)], "content.actions"),
    ([{"type": "postback", "label": "x", "data": "d"}], "content.actions[0].type"),
])
def test_invalid_persistent_menu_is_rejected(api, actions, field):
    response = api.post(f"/bots/{BOT_ID}/persistentmenu", json={"content": {"actions": actions}})
    assert response.status_code == 400
    assert response.json()["description"].startswith(field)


def test_long_persistent_menu_label_is_allowed(api):
    menu = {"actions": [message_action("長いラベル" * 10)]}
    assert api.post(f"/bots/{BOT_ID}/persistentmenu", json={"content": menu}).status_code == 201
