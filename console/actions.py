"""The console acts through the talk's own code path: an administrator's button or form becomes the
same command or button press they would send in their 1:1 talk with the bot, handled by the same
dispatcher, access policy, confirmations, guardrails and audit. The replies meant for the sender are
shown on the page instead of being sent to the talk; the others (to the asker, to the reporter, to
every administrator) are sent as usual."""
from __future__ import annotations

import secrets

from bot.events import MessageEvent, Source, TextContent
from bot.outbox import to_outgoing
from bot.replies import Recipient, Reply


def run_command(runtime, dispatcher, admin_id: str, text: str, postback: str | None = None) -> list[Reply]:
    """Handle `text` (and a button's `postback`) as if `admin_id` sent it in their 1:1 talk; return the
    replies to show. Look-ups are made first, outside the transaction, as for a callback."""
    event = MessageEvent(Source(admin_id, None, None), None, TextContent(text, postback))
    with dispatcher.prepared(event), runtime.store.transaction() as tx:
        _, replies = dispatcher.dispatch(event, runtime.context(tx))
        shown, others = [], []
        for reply in replies:
            (shown if reply.to is None or reply.to == Recipient(user_id=admin_id) else others).append(reply)
        runtime.store.enqueue(tx, to_outgoing(others, None, f"console:{secrets.token_hex(8)}"))
    runtime.wake_worker()
    return shown
