"""The chat page is served, self-contained, and never inserts data as HTML."""
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

STATIC = Path(__file__).resolve().parents[2] / "emulator" / "static"


def test_index_is_japanese_utf8_with_the_test_hooks(emu):
    response = requests.get(emu.base_url + "/", timeout=5)
    assert response.status_code == 200
    html = response.content.decode("utf-8")
    assert '<meta charset="utf-8">' in html and '<html lang="ja">' in html
    for element_id in ("identity", "input", "send", "admin-tab", "directory", "api-log"):
        assert f'id="{element_id}"' in html, element_id
    assert "あなたは" in html


def test_static_files_are_served(emu):
    for name in ("app.js", "app.css"):
        response = requests.get(f"{emu.base_url}/static/{name}", timeout=5)
        assert response.status_code == 200 and len(response.content) > 1000, name
    assert "Noto Sans CJK JP" in (STATIC / "app.css").read_text()


def test_page_loads_nothing_from_the_internet():
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        # Only our own /static URLs: no CDN, no web fonts, no remote scripts.
        assert not re.search(r"""(src|href)=["']https?://""", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name


def test_script_never_uses_innerhtml():
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    for cls in ("msg", "quick-reply", "btn-action"):
        assert f'"{cls}' in script or f" {cls}" in script, cls


def test_python_m_emulator_serves_the_page(tmp_path, keypair):
    key_file = tmp_path / "public.pem"
    key_file.write_text(keypair[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", str(port), "--public-key-file", str(key_file),
         "--directory-size", "10"],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first_line
        deadline = time.monotonic() + 5
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/_emulator/directory", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
        assert len(response.json()) == 13 + 10
    finally:
        proc.terminate()
        proc.wait(timeout=5)
