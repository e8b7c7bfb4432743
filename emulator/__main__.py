"""Run the emulator: python -m emulator --public-key-file PATH --callback-url URL ..."""
import argparse
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, run_simple

from emulator.app import create_app
from emulator.config import EmulatorConfig


class _RequestHandler(WSGIRequestHandler):
    """Log API calls, but not the page's own polling of /_emulator and /static, nor the sign-in query."""

    def log_request(self, *args, **kwargs):
        if self.path.startswith(("/_emulator/", "/static/")):
            return
        if not self.path.startswith("/oauth2/"):
            super().log_request(*args, **kwargs)
            return
        # The sign-in page's query (state, redirect_uri) stays out of the log, like codes and tokens.
        full_path = self.path
        self.path = full_path.split("?", 1)[0]
        try:
            super().log_request(*args, **kwargs)
        finally:
            self.path = full_path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m emulator", description="Local LINE WORKS stand-in")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--callback-url", default=None, help="the bot's POST /callback URL")
    p.add_argument("--bot-id", default="2000001")
    p.add_argument("--bot-secret", default="emulator-bot-secret")
    p.add_argument("--client-id", default="emulator-client-id")
    p.add_argument("--client-secret", default="emulator-client-secret")
    p.add_argument("--service-account", default="emulator.serviceaccount@example.co.jp")
    p.add_argument("--public-key-file", required=True,
                   help="service-account public key (PEM); make one with python -m emulator.keys DIR")
    p.add_argument("--rate-limit", type=int, default=240, help="calls per minute per API operation")
    p.add_argument("--token-ttl", type=int, default=86400, help="access token lifetime in seconds")
    p.add_argument("--directory-size", type=int, default=0, help="extra synthetic members")
    p.add_argument("--domain-id", type=int, default=10000001)
    p.add_argument("--redirect-uri", action="append", default=[], metavar="URL",
                   help="a sign-in redirect URL registered for the app (repeatable; none = any http(s) URL)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    config = EmulatorConfig(
        bot_id=args.bot_id, bot_secret=args.bot_secret,
        client_id=args.client_id, client_secret=args.client_secret,
        service_account=args.service_account,
        public_key_pem=Path(args.public_key_file).read_text(),
        callback_url=args.callback_url,
        rate_limit_per_minute=args.rate_limit, token_ttl_seconds=args.token_ttl,
        directory_size=args.directory_size, domain_id=args.domain_id,
        redirect_uris=tuple(args.redirect_uri),
    )
    app = create_app(config)
    base = f"http://{args.host}:{args.port}"
    print(f"LINE WORKS emulator: chat page {base}/", flush=True)
    print(f"  API base {base}/v1.0   auth {base}/oauth2/v2.0/token   "
          f"member sign-in {base}/oauth2/v2.0/authorize", flush=True)
    print(f"  callbacks -> {args.callback_url or '(none: --callback-url not set)'}", flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False,
               request_handler=_RequestHandler)


if __name__ == "__main__":
    main()
