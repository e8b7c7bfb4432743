"""The administrators' web console, under /admin/, signed in with LINE WORKS (User Account
authentication: OAuth 2.0 authorization code).

    GET  /admin/...              without a session: to LINE WORKS' sign-in page (state kept in the cookie)
    GET  /admin/auth/callback    state checked, code exchanged, /users/me read with the member's token
                                 (which is then dropped); bot administrators only (the talk's rule)
    POST /admin/logout           ends the session everywhere

Every POST carries a CSRF token (Flask-WTF; refused with 400 without it). The session cookie is
HttpOnly, SameSite=Lax, Secure when BOT_PUBLIC_URL is https, and signed with a key derived from the
bot secret; the session itself is a database row that expires after 8 hours. Sign-ins, refusals and
every action are in the audit log. The console is off unless BOT_PUBLIC_URL is set.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.errors import ApiError
from bot.webhook import blueprint as webhook_blueprint
from console import sessions
from handlers import records

log = logging.getLogger("console")

SIGN_IN_SCOPE = "user.read"
csrf = CSRFProtect()


def register_console(app: Flask, runtime, dispatcher) -> None:
    settings = runtime.settings
    app.secret_key = hmac.new(settings.bot_secret.encode(), b"console-session-key", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="bot_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        SESSION_COOKIE_PATH="/admin",
        PERMANENT_SESSION_LIFETIME=sessions.LIFETIME,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    csrf.init_app(app)
    csrf.exempt(webhook_blueprint)  # callbacks are signed by LINE WORKS, not sent by a browser form
    from console import pages  # noqa: F401  (registers the pages on the blueprint)

    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        return message_page("refused_csrf", 400, retry=True)

    @app.errorhandler(413)
    def too_large(_error):
        if request.path.startswith("/admin/"):
            return message_page("too_large", 413)
        return jsonify({"error": "body too large"}), 413

    app.extensions["console"] = Console(runtime, dispatcher)
    app.register_blueprint(blueprint)


class Console:
    def __init__(self, runtime, dispatcher):
        self.runtime = runtime
        self.dispatcher = dispatcher

    @property
    def callback_url(self) -> str:
        return self.runtime.settings.public_url.rstrip("/") + "/admin/auth/callback"

    def audit(self, actor: str, action: str, result: str, target: str | None = None) -> None:
        with self.runtime.store.transaction() as tx:
            records.audit(tx, self.runtime.clock.now(), actor, action, result, target=target)


blueprint = Blueprint("console", __name__, url_prefix="/admin", template_folder="templates",
                      static_folder="static", static_url_path="/static")


def console() -> Console:
    return current_app.extensions["console"]


def say(key: str, **values) -> str:
    """A console text from config/messages.yaml (`console.<key>`)."""
    return current_app.extensions["bot"].texts(f"console.{key}", **values)


def message_page(key: str, status: int, retry: bool = False):
    """The page that tells why something did not happen (`console.<key>.title` and `.message`)."""
    return render_template("message.html", title=say(f"{key}.title"), message=say(f"{key}.message"),
                           retry=retry), status


@blueprint.before_request
def require_sign_in():
    if request.endpoint in ("console.auth_callback", "console.static"):
        return None
    runtime = console().runtime
    g.admin = sessions.signed_in(runtime.store, session.get("sid"), runtime.clock.now())
    if g.admin is None:
        if request.method != "GET":
            abort(403)
        return _to_sign_in()
    if not _still_admin(runtime, g.admin.user_id):  # removed from the administrators since signing in
        sessions.close_session(runtime.store, session.get("sid"))
        session.clear()
        return message_page("admins_only", 403)
    runtime.services.faq.refresh(read)  # the FAQ as changed by any process
    return None


def _still_admin(runtime, user_id: str) -> bool:
    try:
        return runtime.services.admins.is_admin(user_id)  # the directory's answer is cached for minutes
    except ApiError:
        return True  # the directory is unavailable: the session stands until it answers again


def read(fn):
    """fn(connection) in a short read, outside any transaction."""
    with console().runtime.store.engine.connect() as conn:
        return fn(conn)


def _to_sign_in():
    settings = console().runtime.settings
    state = secrets.token_urlsafe(24)
    session["oauth_state"] = state
    query = urlencode({"client_id": settings.client_id, "redirect_uri": console().callback_url,
                       "scope": SIGN_IN_SCOPE, "response_type": "code", "state": state})
    return redirect(f"{settings.authorize_url}?{query}")


@blueprint.get("/auth/callback")
def auth_callback():
    expected = session.pop("oauth_state", None)
    given = request.args.get("state", "")
    if not expected or not hmac.compare_digest(expected, given) or not request.args.get("code"):
        return message_page("sign_in_mismatch", 400, retry=True)
    runtime = console().runtime
    try:
        member_token = runtime.client.member_token(request.args["code"], console().callback_url)
        member = runtime.client.signed_in_member(member_token)
    except ApiError as exc:
        log.warning("console sign-in failed: %s %s", exc.operation, exc.code)
        return message_page("sign_in_failed", 502, retry=True)
    user_id = str(member["userId"])
    try:
        allowed = runtime.services.admins.is_admin(user_id)
    except ApiError:
        allowed = False
    if not allowed:
        console().audit(user_id, "console_sign_in", "refused: not an administrator")
        return message_page("admins_only", 403)
    name = _display_name(member) or user_id
    session.clear()
    session.permanent = True
    session["sid"] = sessions.open_session(runtime.store, sessions.Admin(user_id, name), runtime.clock.now())
    console().audit(user_id, "console_sign_in", "ok")
    return redirect(url_for("console.dashboard"))


def _display_name(member: dict) -> str:
    name = member.get("userName") or {}
    return f"{name.get('lastName', '')} {name.get('firstName', '')}".strip() or str(member.get("email") or "")


@blueprint.post("/logout")
def logout():
    sessions.close_session(console().runtime.store, session.get("sid"))
    console().audit(g.admin.user_id, "console_sign_out", "ok")
    session.clear()
    return message_page("signed_out", 200, retry=True)
