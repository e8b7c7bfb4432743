"""Every documented callback example parses into its typed event."""
import pytest

from bot.events import (EventError, FileContent, LocationContent, MessageEvent, PostbackEvent, RoomEvent,
                        StickerContent, TextContent, UnknownContent, UnknownEvent, is_ignorable, parse_event)

SOURCE_1TO1 = {"userId": "u1", "domainId": 10000001}
SOURCE_ROOM = {"userId": "u1", "channelId": "ch1", "domainId": 10000001}
ISSUED = "2022-01-04T05:16:05.716Z"


def message(content, source=SOURCE_1TO1):
    return {"type": "message", "source": source, "issuedTime": ISSUED, "content": content}


def test_text_in_1to1_has_no_channel():
    event = parse_event(message({"type": "text", "text": "こんにちは"}))
    assert isinstance(event, MessageEvent)
    assert event.content == TextContent("こんにちは")
    assert event.source.user_id == "u1" and event.source.channel_id is None
    assert event.source.domain_id == "10000001" and event.issued_time == ISSUED


def test_text_with_postback_in_room():
    event = parse_event(message({"type": "text", "text": "FAQ", "postback": "ButtonTemplate_FAQ"}, SOURCE_ROOM))
    assert event.content == TextContent("FAQ", "ButtonTemplate_FAQ")
    assert event.source.channel_id == "ch1"


def test_location():
    event = parse_event(message({"type": "location", "address": "東京都渋谷区", "latitude": 35.6, "longitude": 139.7}))
    assert event.content == LocationContent("東京都渋谷区", 35.6, 139.7)


@pytest.mark.parametrize("latitude", [int("9" * 400), 1e999, float("nan"), 91, "north", True])
def test_a_location_out_of_range_is_malformed(latitude):
    with pytest.raises(EventError, match="latitude"):
        parse_event(message({"type": "location", "address": "x", "latitude": latitude, "longitude": 139.7}))


def test_a_400_digit_latitude_gets_400_not_500(app, http):
    from tests.platform.helpers import post_event, text_event

    event = text_event()
    event["content"] = {"type": "location", "address": "x", "latitude": int("9" * 400), "longitude": 1}
    response = post_event(http, event)
    assert response.status_code == 400 and "latitude" in response.get_json()["error"]


def test_an_id_longer_than_any_column_is_malformed():
    with pytest.raises(EventError, match="userId"):
        parse_event(message({"type": "text", "text": "x"}, {"userId": "u" * 201, "domainId": 1}))
    assert parse_event(message({"type": "text", "text": "x"}, {"userId": "u" * 200, "domainId": 1}))


def test_sticker():
    assert parse_event(message({"type": "sticker", "packageId": "1", "stickerId": "2"})).content == \
        StickerContent("1", "2")


@pytest.mark.parametrize("kind", ["image", "file", "audio", "video"])
def test_file_kinds(kind):
    assert parse_event(message({"type": kind, "fileId": "f-1"})).content == FileContent(kind, "f-1")


def test_postback_with_and_without_channel():
    event = parse_event({"type": "postback", "source": SOURCE_ROOM, "issuedTime": ISSUED, "data": "faq:up:x"})
    assert isinstance(event, PostbackEvent) and event.data == "faq:up:x" and event.source.channel_id == "ch1"
    assert parse_event({"type": "postback", "source": SOURCE_1TO1, "data": "d"}).source.channel_id is None


@pytest.mark.parametrize("kind", ["join", "leave"])
def test_bot_room_events(kind):
    event = parse_event({"type": kind, "source": {"channelId": "ch1", "domainId": 1}, "issuedTime": ISSUED})
    assert isinstance(event, RoomEvent) and event.type == kind and event.source.channel_id == "ch1"


@pytest.mark.parametrize("kind", ["joined", "left"])
def test_member_room_events(kind):
    event = parse_event({"type": kind, "source": {"channelId": "ch1", "domainId": 1}, "issuedTime": ISSUED,
                         "members": ["u1", "u2"]})
    assert event.members == ("u1", "u2")


def test_unknown_type_and_content_are_ignorable():
    unknown = parse_event({"type": "reaction", "source": SOURCE_1TO1})
    assert isinstance(unknown, UnknownEvent) and is_ignorable(unknown)
    odd = parse_event(message({"type": "hologram"}))
    assert odd.content == UnknownContent("hologram") and is_ignorable(odd)
    assert not is_ignorable(parse_event(message({"type": "text", "text": "x"})))


@pytest.mark.parametrize("body", [
    [], "text", 3, None, {}, {"type": 5}, {"type": ""},
    {"type": "message", "source": {"userId": "u1"}},  # no content
    {"type": "message", "source": {"userId": "u1"}, "content": {"type": "text"}},  # no text
    {"type": "message", "source": {"userId": "u1"}, "content": {"type": "text", "text": ["x"]}},
    {"type": "message", "source": "u1", "content": {"type": "text", "text": "x"}},
    {"type": "message", "source": {}, "content": {"type": "text", "text": "x"}},  # nobody sent it
    {"type": "postback", "source": {"userId": "u1"}, "data": {"a": 1}},
    {"type": "joined", "source": {"channelId": "c"}, "members": "u1"},
    {"type": "message", "source": {"userId": {"x": 1}}, "content": {"type": "text", "text": "x"}},
])
def test_not_an_event_object(body):
    with pytest.raises(EventError):
        parse_event(body)
