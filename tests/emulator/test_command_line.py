"""The emulator's command line as `make run` builds it: secrets that look like options still arrive."""
import demo.__main__ as demo_main
from emulator.__main__ import parse_args


def test_a_generated_secret_beginning_with_a_dash_reaches_the_emulator(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_main, "RUN_DIR", tmp_path)
    (tmp_path / "bot-secret").write_text("-Xq3_secret-that-looks-like-an-option")  # token_urlsafe may do this
    env, emulator = demo_main.demo_environment(bot_port=18080, emulator_port=18081)
    args = parse_args(emulator["args"][3:])  # after: python -m emulator
    assert args.bot_secret == env["LINEWORKS_BOT_SECRET"] == "-Xq3_secret-that-looks-like-an-option"
    assert args.client_secret == env["LINEWORKS_CLIENT_SECRET"]
