"""Member sign-in (User Account auth, OAuth 2.0 authorization code; API notes 1.5 and 9).

The emulator has no passwords: its sign-in page lists the directory's members and whoever uses
it simply picks one. Each member is a small form that POSTs back to /oauth2/v2.0/authorize with
hidden fields client_id, redirect_uri, scope, state and user_id; its button carries
data-user-id="<userId>" and shows the member's email, so a browser test can click it.
"""
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode, urlsplit

from emulator.config import EmulatorConfig

# Documented scope names (API notes 1.6).
KNOWN_SCOPES = frozenset("""
openid email profile audit.read board board.read bot.message bot bot.read calendar calendar.read
contact contact.read file file.read group group.read group.note group.note.read group.folder
group.folder.read mail mail.read orgunit orgunit.read directory directory.read partner partner.read
security.external-browser security.external-browser.read task task.read user user.read
user.email.read user.profile.read monitoring.read
""".split())

PAGE_TITLE = "LINE WORKS にログイン（エミュレーター）"


class SignInError(Exception):
    """A request the authorize endpoint refuses with an HTML page (400), never a redirect."""

    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code, self.description = code, description


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str


def _single(params, name: str, required: bool = True) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:  # RFC 6749 3.1: parameters must not be sent more than once
        raise SignInError("invalid_request", f"{name} must be sent only once")
    if not values or values[0] == "":
        if required:
            raise SignInError("invalid_request", f"{name} is required")
        return None
    return values[0]


def check_redirect_uri(config: EmulatorConfig, redirect_uri: str) -> None:
    parts = urlsplit(redirect_uri)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise SignInError("invalid_request", "redirect_uri has an invalid port") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SignInError("invalid_request", "redirect_uri must be an absolute http(s) URL")
    if parts.fragment or "#" in redirect_uri:
        raise SignInError("invalid_request", "redirect_uri must not contain a fragment (#...)")
    if any(ch.isspace() for ch in redirect_uri):
        raise SignInError("invalid_request", "redirect_uri must not contain spaces")
    if config.redirect_uris and redirect_uri not in config.redirect_uris:
        raise SignInError("invalid_request", "redirect_uri is not registered for this app")


def parse_request(config: EmulatorConfig, params, response_type_required: bool) -> AuthorizeRequest:
    """Validate the authorize parameters (query of the GET, form of the POST) strictly."""
    client_id = _single(params, "client_id")
    if client_id != config.client_id:
        raise SignInError("unauthorized_client", "client_id is not the Client ID of this app")
    response_type = _single(params, "response_type", required=response_type_required)
    if response_type is not None and response_type != "code":
        raise SignInError("unsupported_response_type", "response_type must be code")
    redirect_uri = _single(params, "redirect_uri")
    check_redirect_uri(config, redirect_uri)
    scope = _single(params, "scope")
    names = scope.split(" ")
    if any(name == "" for name in names):
        raise SignInError("invalid_scope", "scope must be scope names separated by single spaces")
    unknown = [name for name in names if name not in KNOWN_SCOPES]
    if unknown:
        raise SignInError("invalid_scope", f"unknown scope name(s): {' '.join(unknown)}")
    state = _single(params, "state")
    return AuthorizeRequest(client_id, redirect_uri, scope, state)


def redirect_target(redirect_uri: str, code: str, state: str) -> str:
    """redirect_uri with code and state appended to its query (its own query is kept as sent)."""
    extra = urlencode({"code": code, "state": state})
    parts = urlsplit(redirect_uri)
    separator = "&" if parts.query else ("" if redirect_uri.endswith("?") else "?")
    return redirect_uri + separator + extra


def why_member_cannot_sign_in(user: dict) -> str | None:
    """Deleted, suspended, pending and awaiting members cannot sign in (Japanese, for the page)."""
    if user["isDeleted"]:
        return "削除済み"
    if user["isSuspended"]:
        return "利用停止中"
    if user["isPending"] or user.get("isAwaiting"):
        return "利用開始前"
    return None


# --- HTML -------------------------------------------------------------------------

_STYLE = """
body{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",sans-serif;margin:0;background:#f3f5f7;color:#222}
main{max-width:760px;margin:32px auto;background:#fff;border-radius:8px;padding:24px 32px;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 8px;color:#00a05a}
.request{font-size:.9rem;color:#555;margin:0 0 16px}
.request code{background:#f0f0f0;padding:1px 4px;border-radius:3px}
ul.members{list-style:none;padding:0;margin:0}
ul.members li{display:flex;align-items:center;gap:12px;padding:8px 0;border-bottom:1px solid #eee}
.name{min-width:8em;font-weight:bold}
.note{font-size:.8rem;padding:1px 6px;border-radius:10px;background:#e6f6ee;color:#00794a}
.note.off{background:#eee;color:#777}
form{margin:0 0 0 auto}
button{font:inherit;padding:4px 12px;border:1px solid #00a05a;border-radius:4px;background:#fff;
color:#00794a;cursor:pointer}
button:hover{background:#e6f6ee}
button:disabled{border-color:#ccc;color:#999;cursor:not-allowed;background:#fafafa}
.error{color:#b00020}
"""


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="ja">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n")


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{escape(value)}">'


def _member_item(req: AuthorizeRequest, user: dict, super_admin_ids: set[str]) -> str:
    name = user["userName"]
    display = f'{name["lastName"]} {name["firstName"]}'
    notes = []
    if user["userId"] in super_admin_ids:
        notes.append('<span class="note admin">最高管理者</span>')
    elif user["isAdministrator"]:
        notes.append('<span class="note admin">管理者</span>')
    refusal = why_member_cannot_sign_in(user)
    if refusal:
        notes.append(f'<span class="note off">{escape(refusal)}（ログイン不可）</span>')
    fields = "".join([_hidden("client_id", req.client_id), _hidden("redirect_uri", req.redirect_uri),
                      _hidden("scope", req.scope), _hidden("state", req.state),
                      _hidden("user_id", user["userId"])])
    disabled = " disabled" if refusal else ""
    user_id = escape(user["userId"])
    return (f'<li><span class="name">{escape(display)}</span>{"".join(notes)}'
            f'<form method="post" action="/oauth2/v2.0/authorize">{fields}'
            f'<button type="submit" data-user-id="{user_id}"{disabled}>{escape(user["email"])}</button>'
            f"</form></li>\n")


def render_chooser(req: AuthorizeRequest, users: list[dict], super_admin_ids: set[str]) -> str:
    items = "".join(_member_item(req, user, super_admin_ids) for user in users)
    body = (f"<h1>{escape(PAGE_TITLE)}</h1>\n"
            f'<p class="request">アプリ <code>{escape(req.client_id)}</code> が次の権限を求めています: '
            f"<code>{escape(req.scope)}</code><br>ログイン後の戻り先: <code>{escape(req.redirect_uri)}</code></p>\n"
            "<p>ログインするメンバーを選んでください（エミュレーターなのでパスワードはありません）。</p>\n"
            f'<ul class="members">\n{items}</ul>\n')
    return _page(PAGE_TITLE, body)


def render_error(error: SignInError) -> str:
    body = (f"<h1>{escape(PAGE_TITLE)}</h1>\n"
            '<p class="error">ログイン要求が正しくないため、続行できません。</p>\n'
            f'<p>エラー: <code id="error-code">{escape(error.code)}</code></p>\n'
            f'<p id="error-description">{escape(error.description)}</p>\n')
    return _page("エラー - " + PAGE_TITLE, body)
