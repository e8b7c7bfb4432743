"""The clock process runs without the web server's stack: no Flask and no handlers are imported."""
import subprocess
import sys


def test_the_clock_process_imports_no_flask_and_no_handlers():
    probe = ("import sys, scheduler.__main__; "
             "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('handlers')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
