import pytest

from bot.replies import (Buttons, Carousel, Column, MessageAction, PostbackAction, Text, UriAction, split_text)


def test_long_text_is_split_under_the_limit_preferring_newlines():
    text = ("あ" * 1500 + "\n") * 3
    chunks = split_text(text)
    assert all(len(c) <= 2000 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    assert len(chunks) == 3


def test_text_without_newlines_is_cut_hard():
    chunks = split_text("x" * 4500)
    assert [len(c) for c in chunks] == [2000, 2000, 500]


def test_quick_replies_go_on_the_last_part_only():
    contents = Text("a" * 2500, (MessageAction("はい"),)).contents()
    assert len(contents) == 2
    assert "quickReply" not in contents[0]
    assert contents[1]["quickReply"]["items"][0]["action"] == {"type": "message", "label": "はい", "text": "はい"}


def test_quick_reply_limit():
    items = tuple(MessageAction(f"q{i}") for i in range(14))
    with pytest.raises(ValueError, match="13"):
        Text("x", items).contents()
    assert len(Text("x", items[:13]).contents()[0]["quickReply"]["items"]) == 13


def test_button_limit_and_no_postback_in_button_template():
    with pytest.raises(ValueError, match="1 to 10"):
        Buttons("x", tuple(MessageAction(f"b{i}") for i in range(11))).contents()
    with pytest.raises(ValueError, match="postback"):
        Buttons("x", (PostbackAction("実行", "lockout:1", "実行"),)).contents()


def test_button_template_message_action_uses_label_and_keeps_postback():
    content = Buttons("どうしますか", (MessageAction("実行する", postback="confirm:abc"),
                                   UriAction("ヘルプ", "https://help.worksmobile.com/"))).contents()[0]
    assert content["type"] == "button_template"
    assert content["actions"][0] == {"type": "message", "label": "実行する", "postback": "confirm:abc"}
    assert content["actions"][1]["uri"] == "https://help.worksmobile.com/"


def test_postback_in_quick_reply_has_display_text():
    item = Text("x", (PostbackAction("👍", "faq:up:a", "役に立った"),)).contents()[0]["quickReply"]["items"][0]
    assert item["action"] == {"type": "postback", "label": "👍", "data": "faq:up:a", "displayText": "役に立った"}


def test_long_labels_are_shortened_to_twenty():
    action = MessageAction("とても長いラベルとても長いラベルとても長いラベル").to_json("quick_reply")
    assert len(action["label"]) == 20


def test_uri_must_be_http():
    with pytest.raises(ValueError):
        UriAction("x", "javascript:alert(1)").to_json("quick_reply")


def test_carousel_limits():
    column = Column("t", "x", (MessageAction("a"),))
    assert len(Carousel((column,) * 10).contents()[0]["columns"]) == 10
    with pytest.raises(ValueError):
        Carousel((column,) * 11).contents()
