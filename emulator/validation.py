"""Strict checks of message content and persistent menus (section 3 of the API notes).

The point is to fail loudly in development where the real platform would reject a
message (or silently render it badly), so every check names the field and the reason.
Limits marked (unconfirmed) in the notes are not enforced.
"""
import json
from urllib.parse import urlparse


class InvalidContent(Exception):
    """The description says which field is wrong and why."""


# Which action types each place accepts (section 3.3 / 3.4 / 3.5).
ALLOWED_ACTIONS = {
    "button_template": {"message", "uri", "copy"},
    "list_template": {"message", "uri", "copy"},
    "carousel": {"postback", "message", "uri", "copy"},
    "image_carousel": {"postback", "message", "uri", "copy"},
    "quick_reply": {"postback", "message", "uri", "camera", "cameraRoll", "location"},
    "persistent_menu": {"message", "uri", "copy"},
}
# Where a message action must carry `text` (elsewhere the label is sent instead).
TEXT_REQUIRED_IN = {"carousel", "image_carousel", "quick_reply"}

MAX_QUICK_REPLY_ITEMS = 13
MAX_BUTTONS = 10
MAX_COLUMNS = 10
MAX_LIST_ELEMENTS = 4
MAX_PERSISTENT_MENU_ACTIONS = 4
MAX_FLEX_BUBBLE_BYTES = 30 * 1024


def fail(path: str, reason: str):
    raise InvalidContent(f"{path}: {reason}")


def _obj(value, path: str) -> dict:
    if not isinstance(value, dict):
        fail(path, "must be an object")
    return value


def _list(value, path: str, min_len: int, max_len: int) -> list:
    if not isinstance(value, list):
        fail(path, "must be an array")
    if not min_len <= len(value) <= max_len:
        fail(path, f"has {len(value)} items, allowed {min_len}..{max_len}")
    return value


def _str(obj: dict, key: str, path: str, max_len: int, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            fail(f"{path}.{key}", "is required")
        return None
    if not isinstance(value, str):
        fail(f"{path}.{key}", "must be a string")
    if required and value == "":
        fail(f"{path}.{key}", "must not be empty")
    if len(value) > max_len:
        fail(f"{path}.{key}", f"is {len(value)} characters, at most {max_len} allowed")
    return value


def _url(obj: dict, key: str, path: str, required: bool = True, https_only: bool = False) -> None:
    value = _str(obj, key, path, 1000, required)
    if value is None:
        return
    schemes = ("https",) if https_only else ("http", "https")
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        fail(f"{path}.{key}", f"must be an absolute {'/'.join(schemes)} URL")


def _file_or_url(obj: dict, path: str, url_key: str = "originalContentUrl") -> None:
    if "fileId" in obj:
        _str(obj, "fileId", path, 1000)
    else:
        _url(obj, url_key, path, https_only=True)


# --- actions ---------------------------------------------------------------

def validate_action(action, path: str, place: str, label_required: bool = True) -> None:
    action = _obj(action, path)
    kind = action.get("type")
    if kind not in ALLOWED_ACTIONS[place]:
        fail(f"{path}.type", f"action type {kind!r} is not allowed in {place} "
                             f"(allowed: {', '.join(sorted(ALLOWED_ACTIONS[place]))})")
    if place == "persistent_menu":
        label_max = 1000
    elif kind == "postback" and place == "image_carousel":
        label_max = 12
    else:
        label_max = 20
    _str(action, "label", path, label_max, required=label_required)

    if kind == "postback":
        _str(action, "data", path, 300)
        _str(action, "displayText", path, 300, required=(place == "quick_reply"))
    elif kind == "message":
        _str(action, "text", path, 300, required=(place in TEXT_REQUIRED_IN))
        _str(action, "postback", path, 1000, required=False)
    elif kind == "uri":
        _url(action, "uri", path)
    elif kind == "copy":
        _str(action, "copyText", path, 1000)
    # camera / cameraRoll / location carry only a label.


def _actions(actions, path: str, place: str, min_len: int, max_len: int) -> None:
    for i, action in enumerate(_list(actions, path, min_len, max_len)):
        validate_action(action, f"{path}[{i}]", place)


def _quick_reply(quick_reply, path: str) -> None:
    quick_reply = _obj(quick_reply, path)
    items = _list(quick_reply.get("items"), f"{path}.items", 1, MAX_QUICK_REPLY_ITEMS)
    for i, item in enumerate(items):
        item_path = f"{path}.items[{i}]"
        item = _obj(item, item_path)
        _url(item, "imageUrl", item_path, required=False, https_only=True)
        validate_action(item.get("action"), f"{item_path}.action", "quick_reply")


# --- content types ---------------------------------------------------------

def _text(c, p):
    _str(c, "text", p, 2000)


def _sticker(c, p):
    _str(c, "packageId", p, 100)
    _str(c, "stickerId", p, 100)


def _image(c, p):
    if "fileId" in c:
        _str(c, "fileId", p, 1000)
    else:
        _url(c, "previewImageUrl", p, https_only=True)
        _url(c, "originalContentUrl", p, https_only=True)


def _file(c, p):
    _file_or_url(c, p)


def _link(c, p):
    _str(c, "contentText", p, 1000)
    _str(c, "linkText", p, 1000)
    _url(c, "link", p)


def _location(c, p):
    _str(c, "title", p, 100)
    _str(c, "address", p, 100)
    for key in ("latitude", "longitude"):
        if not isinstance(c.get(key), (int, float)) or isinstance(c.get(key), bool):
            fail(f"{p}.{key}", "must be a number")


def _button_template(c, p):
    _str(c, "contentText", p, 1000)
    _actions(c.get("actions"), f"{p}.actions", "button_template", 1, MAX_BUTTONS)


def _list_template(c, p):
    if "coverData" in c:
        cover = _obj(c["coverData"], f"{p}.coverData")
        for key in ("title", "subtitle"):
            _str(cover, key, f"{p}.coverData", 1000, required=False)
    elements = _list(c.get("elements"), f"{p}.elements", 1, MAX_LIST_ELEMENTS)
    for i, element in enumerate(elements):
        ep = f"{p}.elements[{i}]"
        element = _obj(element, ep)
        _str(element, "title", ep, 1000)
        _str(element, "subtitle", ep, 1000, required=False)
        if "action" in element:
            validate_action(element["action"], f"{ep}.action", "list_template")
    if "actions" in c:
        rows = _list(c["actions"], f"{p}.actions", 1, 2)
        for r, row in enumerate(rows):
            _actions(row, f"{p}.actions[{r}]", "list_template", 1, 2)


def _carousel(c, p):
    columns = _list(c.get("columns"), f"{p}.columns", 1, MAX_COLUMNS)
    action_counts = set()
    for i, column in enumerate(columns):
        cp = f"{p}.columns[{i}]"
        column = _obj(column, cp)
        has_image = "originalContentUrl" in column or "fileId" in column
        if has_image:
            _file_or_url(column, cp)
        title = _str(column, "title", cp, 40, required=False)
        # The text limit shrinks when the column also shows an image or a title.
        short = has_image or bool(title)
        max_chars, max_lines = (60, 2) if short else (120, 4)
        text = _str(column, "text", cp, max_chars)
        if text.count("\n") + 1 > max_lines:
            fail(f"{cp}.text", f"has more than {max_lines} lines")
        if "defaultAction" in column:
            validate_action(column["defaultAction"], f"{cp}.defaultAction", "carousel",
                            label_required=False)
        actions = column.get("actions", [])
        _actions(actions, f"{cp}.actions", "carousel", 0, MAX_BUTTONS)
        action_counts.add(len(actions))
    if len(action_counts) > 1:
        fail(f"{p}.columns", "all columns must have the same number of actions")


def _image_carousel(c, p):
    columns = _list(c.get("columns"), f"{p}.columns", 1, MAX_COLUMNS)
    for i, column in enumerate(columns):
        cp = f"{p}.columns[{i}]"
        column = _obj(column, cp)
        _file_or_url(column, cp)
        if "action" in column:
            validate_action(column["action"], f"{cp}.action", "image_carousel", label_required=False)


def _flex(c, p):
    _str(c, "altText", p, 400)
    contents = _obj(c.get("contents"), f"{p}.contents")
    kind = contents.get("type")
    if kind == "bubble":
        bubbles = [contents]
    elif kind == "carousel":
        bubbles = _list(contents.get("contents"), f"{p}.contents.contents", 1, MAX_COLUMNS)
    else:
        fail(f"{p}.contents.type", "must be 'bubble' or 'carousel'")
    for i, bubble in enumerate(bubbles):
        bubble = _obj(bubble, f"{p}.contents[{i}]")
        if bubble.get("type") != "bubble":
            fail(f"{p}.contents[{i}].type", "must be 'bubble'")
        size = len(json.dumps(bubble, ensure_ascii=False).encode("utf-8"))
        if size > MAX_FLEX_BUBBLE_BYTES:
            fail(f"{p}.contents[{i}]", f"bubble is {size} bytes of JSON, at most 30 KB allowed")


CONTENT_VALIDATORS = {
    "text": _text,
    "sticker": _sticker,
    "image": _image,
    "file": _file,
    "link": _link,
    "location": _location,
    "button_template": _button_template,
    "list_template": _list_template,
    "carousel": _carousel,
    "image_carousel": _image_carousel,
    "flex": _flex,
}


def validate_message_body(body) -> dict:
    """Check a send-message request body; return its content object."""
    body = _obj(body, "body")
    content = _obj(body.get("content"), "content")
    kind = content.get("type")
    validator = CONTENT_VALIDATORS.get(kind)
    if validator is None:
        fail("content.type", f"unknown content type {kind!r}")
    validator(content, "content")
    if "quickReply" in content:
        _quick_reply(content["quickReply"], "content.quickReply")
    return content


def validate_persistent_menu(body) -> dict:
    """Check a persistent-menu body {"content": {"actions": [...]}}; return its content."""
    body = _obj(body, "body")
    content = _obj(body.get("content"), "content")
    _actions(content.get("actions"), "content.actions", "persistent_menu",
             1, MAX_PERSISTENT_MENU_ACTIONS)
    return content
