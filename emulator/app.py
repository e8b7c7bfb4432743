"""Flask app factory: platform API + control API + chat page, and the request hooks
that make every API call behave like the real platform (faults, bearer, OAuth scopes, rate limit,
log)."""
import re
import time
from pathlib import Path

from flask import Flask, g, jsonify, request, send_from_directory

from emulator import control_api, platform_api
from emulator.config import EmulatorConfig
from emulator.faults import FAULT_CODES
from emulator.state import EmulatorState
from emulator.util import error_body

STATIC_DIR = Path(__file__).parent / "static"
BEARER = re.compile(r"Bearer ([^\s]+)")


def _is_api(path: str) -> bool:
    return path.startswith("/v1.0/") or path.startswith("/oauth2/")


def _operation() -> str:
    # The view name is the "API operation" that rate limits are counted by.
    endpoint = request.endpoint or "unknown"
    return endpoint.split(".", 1)[-1]


def create_app(config: EmulatorConfig, now=None) -> Flask:
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.json.ensure_ascii = False  # keep Japanese readable in responses
    state = EmulatorState(config, now)
    app.extensions["emulator"] = state
    app.register_blueprint(platform_api.bp)
    app.register_blueprint(control_api.bp)

    @app.get("/")
    def index():
        return send_from_directory(STATIC_DIR, "index.html")

    @app.get("/favicon.ico")
    def favicon():
        # Browsers ask for it even when the page names an icon; answer instead of a 404.
        return send_from_directory(STATIC_DIR, "favicon.svg", mimetype="image/svg+xml")

    @app.before_request
    def platform_checks():
        if not _is_api(request.path):
            return None
        g.started = time.perf_counter()
        with state.lock:
            fault = state.faults.take(request.method, request.path)
        if fault is not None:
            return _fault_response(fault)
        if not request.path.startswith("/v1.0/"):
            return None  # the auth server needs no bearer token and has no rate limit
        match = BEARER.fullmatch(request.headers.get("Authorization", ""))
        with state.lock:
            authorised = match is not None and state.tokens.is_valid(match.group(1))
        if not authorised:
            return jsonify(error_body("UNAUTHORIZED", "access token is missing, unknown or expired")), 401
        g.token = match.group(1)
        with state.lock:
            g.scopes = state.tokens.scopes(g.token)
        refused = platform_api.scope_refusal(_operation(), g.scopes)
        if refused is not None:
            return jsonify(error_body("FORBIDDEN", refused)), 403
        with state.lock:
            g.rate = state.limiter.hit(_operation())
        if not g.rate.allowed:
            return jsonify(error_body("TOO_MANY_REQUESTS", "API rate limit exceeded")), 429
        return None

    @app.after_request
    def log_api_call(response):
        if not _is_api(request.path):
            return response
        if request.path.startswith("/v1.0/"):
            rate = g.get("rate")
            if rate is None:  # rejected before counting: report the window as it is
                with state.lock:
                    rate = state.limiter.peek(_operation())
            response.headers.update(rate.headers())
        started = g.get("started", time.perf_counter())
        # Only method and path are logged: no tokens, no query strings.
        state.record_call(request.method, request.path, _operation(), response.status_code,
                          (time.perf_counter() - started) * 1000)
        return response

    @app.errorhandler(404)
    def not_found(error):
        if _is_api(request.path):
            return jsonify(error_body("NOT_FOUND", "no such API")), 404
        return error

    @app.errorhandler(405)
    def method_not_allowed(error):
        if _is_api(request.path):
            return jsonify(error_body("METHOD_NOT_ALLOWED", "method not allowed")), 405
        return error

    return app


def _fault_response(fault):
    if fault.status == "timeout":
        # Sleep past the client's timeout (without holding the lock), then fail.
        time.sleep(fault.delay_seconds)
        status = 500
    else:
        status = fault.status
    code = FAULT_CODES.get(status, "INJECTED_FAULT")
    return jsonify(error_body(code, f"injected fault #{fault.id}")), status
