"""Run the emulator: python -m emulator --public-key-file PATH --callback-url URL ..."""
import argparse
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, run_simple

from emulator.app import create_app
from emulator.config import EmulatorConfig


class _RequestHandler(WSGIRequestHandler):
    """Log API calls, but not the page's own polling of /_emulator and /static."""

    def log_request(self, *args, **kwargs):
        if not self.path.startswith(("/_emulator/", "/static/")):
            super().log_request(*args, **kwargs)


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
    )
    app = create_app(config)
    base = f"http://{args.host}:{args.port}"
    print(f"LINE WORKS emulator: chat page {base}/", flush=True)
    print(f"  API base {base}/v1.0   auth {base}/oauth2/v2.0/token", flush=True)
    print(f"  callbacks -> {args.callback_url or '(none: --callback-url not set)'}", flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False,
               request_handler=_RequestHandler)


if __name__ == "__main__":
    main()
