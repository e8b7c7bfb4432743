"""The clock process runs without the web server's stack: no Flask, and of the handlers only the
records it keeps or purges (reminder broadcasts, the retention job), none of the chat behaviour."""
import subprocess
import sys

RECORDS = {"handlers", "handlers.records", "handlers.reminder_records", "handlers.ticket_records", "handlers.faq_records"}


def test_the_clock_process_imports_no_flask_and_no_chat_handlers():
    probe = ("import sys, scheduler.__main__; "
             "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'handlers'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    imported = set(done.stdout.split())
    assert "flask" not in imported
    assert imported <= RECORDS, imported - RECORDS
