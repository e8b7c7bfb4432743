"""The LINE WORKS endpoints the bot's real HTTP client calls (auth server + /v1.0 API).

Cross-cutting behaviour (faults, bearer check, rate limit, call log) lives in
emulator.app's request hooks; these views only do the per-endpoint work.
"""
import base64
import binascii

from flask import Blueprint, current_app, g, jsonify, redirect, request

from emulator import signin
from emulator.auth import AuthError, issue_token
from emulator.util import error_body
from emulator.validation import InvalidContent, validate_message_body, validate_persistent_menu

bp = Blueprint("platform", __name__)

# OAuth scopes per API operation (the view's name), from the API notes (sections 3.1, 5, 6, 9): a
# token needs one of them, else 403. Operations not listed need none beyond a valid token.
BOT_WRITE = ("bot", "bot.message")
USER_READ = ("user", "user.read", "directory", "directory.read")
USER_PROFILE = ("user.profile.read",)  # GET /users/{id} only, and only a profile subset
USER_WRITE = ("user", "directory")
REQUIRED_SCOPES: dict[str, frozenset[str]] = {}
# Members' fields in the answer to a token with only user.profile.read (DOCS/en/docs/user-get-profile).
PROFILE_FIELDS = ("userId", "userExternalKey", "email", "userName", "i18nNames", "organizations", "telephone",
                  "cellPhone", "location")


def needs_scope(*scopes: str):
    """Register the scopes one of which the decorated view's token must carry."""
    def register(view):
        REQUIRED_SCOPES[view.__name__] = frozenset(scopes)
        return view
    return register


def scope_refusal(operation: str, granted: frozenset[str]) -> str | None:
    """Why a token with `granted` scopes may not call `operation`, or None when it may."""
    needed = REQUIRED_SCOPES.get(operation)
    if needed is None or needed & granted:
        return None
    return f"the access token's scopes do not allow this API (needs one of: {' '.join(sorted(needed))})"


def state():
    return current_app.extensions["emulator"]


def api_error(status: int, code: str, description: str):
    return jsonify(error_body(code, description)), status


def invalid(description: str):
    return api_error(400, "INVALID_PARAMETER", description)


def not_found(description: str):
    return api_error(404, "NOT_FOUND", description)


def json_body():
    """The request's JSON object, or None. The real API wants Content-Type: application/json."""
    if not request.is_json:
        return None
    return request.get_json(silent=True)


# --- auth server -------------------------------------------------------------

@bp.post("/oauth2/v2.0/token")
def token():
    s = state()
    try:
        with s.lock:
            return jsonify(issue_token(s.config, s.tokens, request.form, s.codes))
    except AuthError as exc:
        return api_error(exc.status, exc.code, exc.description)


def _sign_in_error(error: signin.SignInError):
    # Never a redirect: the redirect_uri of a bad request cannot be trusted.
    return signin.render_error(error), 400, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/oauth2/v2.0/authorize")
def authorize():
    """Member sign-in page: pick a member of the directory (there are no passwords)."""
    s = state()
    try:
        req = signin.parse_request(s.config, request.args, response_type_required=True)
    except signin.SignInError as exc:
        return _sign_in_error(exc)
    with s.lock:
        html = signin.render_chooser(req, s.directory.users, s.directory.super_admin_ids)
    return html, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


@bp.post("/oauth2/v2.0/authorize")
def authorize_member():
    """The chosen member signs in: a single-use code goes back to redirect_uri with the state."""
    s = state()
    try:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise signin.SignInError("invalid_request", "the form must be application/x-www-form-urlencoded")
        req = signin.parse_request(s.config, request.form, response_type_required=False)
        user_id = request.form.get("user_id", "")
        with s.lock:
            user = s.directory.find(user_id) if user_id else None
            if user is None or user["userId"] != user_id:
                raise signin.SignInError("invalid_request", "user_id is missing or not a member's userId")
            refusal = signin.why_member_cannot_sign_in(user)
            if refusal:
                raise signin.SignInError("access_denied", f"this member cannot sign in ({refusal})")
            code = s.codes.create(req.client_id, req.redirect_uri, req.scope, user_id)
    except signin.SignInError as exc:
        return _sign_in_error(exc)
    response = redirect(signin.redirect_target(req.redirect_uri, code, req.state), 302)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- bot messages ------------------------------------------------------------

def _check_bot(bot_id: str):
    if bot_id != state().config.bot_id:
        return not_found(f"bot {bot_id!r} does not exist")
    return None


def _send(target_kind: str, target_id: str):
    """Validate the body strictly and record the message (the emulator's "delivery")."""
    body = json_body()
    if body is None:
        return invalid("request body must be JSON with Content-Type: application/json")
    try:
        content = validate_message_body(body)
    except InvalidContent as exc:
        return invalid(str(exc))
    state().record_message("bot", target_kind, target_id, content)
    return "", 201


@bp.post("/v1.0/bots/<bot_id>/users/<user_id>/messages")
@needs_scope(*BOT_WRITE)
def send_user_message(bot_id, user_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    s = state()
    with s.lock:
        user = s.directory.find(user_id)
        resolved = user["userId"] if user and not user["isDeleted"] else None
    if resolved is None:
        return not_found(f"user {user_id!r} does not exist")
    return _send("user", resolved)


@bp.post("/v1.0/bots/<bot_id>/channels/<channel_id>/messages")
@needs_scope(*BOT_WRITE)
def send_channel_message(bot_id, channel_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    s = state()
    with s.lock:
        known = channel_id in s.channels
    if not known:
        return not_found(f"channel {channel_id!r} does not exist")
    return _send("channel", channel_id)


@bp.get("/v1.0/bots/<bot_id>/channels/<channel_id>/members")
@needs_scope(*BOT_WRITE, "bot.read")
def list_channel_members(bot_id, channel_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    s = state()
    with s.lock:
        channel = s.channels.get(channel_id)
        members = list(channel["members"]) if channel else None
    if members is None:
        return not_found(f"channel {channel_id!r} does not exist")
    return _paged("members", members)


# --- persistent menu -----------------------------------------------------------

@bp.post("/v1.0/bots/<bot_id>/persistentmenu")
@needs_scope(*BOT_WRITE)
def create_persistent_menu(bot_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    body = json_body()
    if body is None:
        return invalid("request body must be JSON with Content-Type: application/json")
    try:
        content = validate_persistent_menu(body)
    except InvalidContent as exc:
        return invalid(str(exc))
    s = state()
    with s.lock:
        s.persistent_menu = content
    return jsonify({"content": content}), 201


@bp.get("/v1.0/bots/<bot_id>/persistentmenu")
@needs_scope(*BOT_WRITE, "bot.read")
def get_persistent_menu(bot_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    with state().lock:
        menu = state().persistent_menu
    if menu is None:
        return not_found("no persistent menu is set")
    return jsonify({"content": menu})


@bp.delete("/v1.0/bots/<bot_id>/persistentmenu")
@needs_scope(*BOT_WRITE)
def delete_persistent_menu(bot_id):
    if (error := _check_bot(bot_id)) is not None:
        return error
    with state().lock:
        state().persistent_menu = None
    return "", 204


# --- directory -------------------------------------------------------------------

# A fixed prefix whose base64 is "++//", so every cursor holds characters that must
# be URL-encoded ('+', '/', '='). A client that forgets to encode gets a 400.
_CURSOR_PREFIX = bytes([0xFB, 0xEF, 0xFF])


def encode_cursor(offset: int) -> str:
    raw = _CURSOR_PREFIX + f"o={offset}".encode()
    raw += b"\x00" * ((1 - len(raw)) % 3)  # length % 3 == 1 -> always ends with "=="
    return base64.b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> int:
    """Raise ValueError for anything that is not a cursor we issued."""
    try:
        raw = base64.b64decode(cursor, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("cursor is not valid (was it URL-encoded?)") from exc
    digits = raw[5:].rstrip(b"\x00")
    if not raw.startswith(_CURSOR_PREFIX + b"o=") or not digits.isdigit():
        raise ValueError("cursor is not valid (was it URL-encoded?)")
    return int(digits)


def _paged(key: str, items: list, render=lambda x: x):
    """Slice a list with count/cursor like the Directory API; nextCursor absent on the last page."""
    try:
        count = int(request.args.get("count", "100"))
    except ValueError:
        return invalid("count must be an integer between 1 and 100")
    if not 1 <= count <= 100:
        return invalid("count must be between 1 and 100")
    cursor = request.args.get("cursor")
    try:
        offset = decode_cursor(cursor) if cursor else 0
    except ValueError as exc:
        return invalid(str(exc))
    page = items[offset:offset + count]
    meta = {}
    if offset + count < len(items):
        meta["nextCursor"] = encode_cursor(offset + count)
    return jsonify({key: [render(x) for x in page], "responseMetaData": meta})


def _find_user(user_id: str):
    return state().directory.find(user_id)


def _user_answer(user_id: str):
    s = state()
    with s.lock:
        user = _find_user(user_id)
        body = s.directory.public(user) if user else None
    if body is None:
        return not_found(f"user {user_id!r} does not exist")
    if not set(USER_READ) & g.get("scopes", frozenset()):
        body = {key: value for key, value in body.items() if key in PROFILE_FIELDS}  # user.profile.read only
    return jsonify(body)


# Registered before /users/<user_id>; werkzeug also ranks the fixed path above the variable one.
@bp.get("/v1.0/users/me")
@needs_scope(*USER_READ, *USER_PROFILE)
def get_me():
    """The signed-in member (a member's token from the authorization-code grant)."""
    s = state()
    with s.lock:
        user_id = s.tokens.user_of(g.token)
    if user_id is None:
        return api_error(403, "FORBIDDEN", "'me' cannot be used with a service-account token: "
                                           "it needs the access token of a signed-in member")
    return _user_answer(user_id)


@bp.get("/v1.0/users/<user_id>")
@needs_scope(*USER_READ, *USER_PROFILE)
def get_user(user_id):
    return _user_answer(user_id)


@bp.get("/v1.0/users")
@needs_scope(*USER_READ)
def list_users():
    s = state()
    with s.lock:
        # Deleted members stay listed (with isDeleted), as on the real platform.
        return _paged("users", s.directory.users, s.directory.public)


@bp.get("/v1.0/orgunits/<org_unit_id>/members")
@needs_scope("orgunit", "orgunit.read", "directory", "directory.read")
def list_org_unit_members(org_unit_id):
    s = state()
    with s.lock:
        members = s.directory.org_unit_members(org_unit_id)
        if not members:
            return not_found(f"org unit {org_unit_id!r} does not exist")
        return _paged("members", members, s.directory.public)


@bp.post("/v1.0/users/<user_id>/force-logout")
@needs_scope(*USER_WRITE)
def force_logout(user_id):
    s = state()
    with s.lock:
        user = _find_user(user_id)
        if user is None:
            return not_found(f"user {user_id!r} does not exist")
        s.directory.mark_force_logout(user)
        s.tokens.revoke_member(user["userId"])  # also expires the member's tokens (API notes 5)
    return "", 202


@bp.post("/v1.0/users/<user_id>/suspend")
@needs_scope(*USER_WRITE)
def suspend(user_id):
    s = state()
    with s.lock:
        user = _find_user(user_id)
        if user is None:
            return not_found(f"user {user_id!r} does not exist")
        # Only members "in use" can be suspended; the super administrator never (API notes 5 and 9).
        if user["userId"] in s.directory.super_admin_ids:
            return invalid("the super administrator cannot be suspended")
        if user["isDeleted"] or user["isPending"] or user.get("isAwaiting") or user["isSuspended"]:
            return invalid("only members in use can be suspended")
        s.directory.set_suspended(user, True)
    return "", 204


@bp.post("/v1.0/users/<user_id>/unsuspend")
@needs_scope(*USER_WRITE)
def unsuspend(user_id):
    s = state()
    with s.lock:
        user = _find_user(user_id)
        if user is None:
            return not_found(f"user {user_id!r} does not exist")
        if user["isDeleted"]:
            return invalid("a deleted member cannot be unsuspended")
        s.directory.set_suspended(user, False)
    return "", 204
