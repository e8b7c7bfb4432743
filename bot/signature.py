"""LINE WORKS callback signature: base64(HMAC-SHA256(bot secret, raw body)).

Pure functions, shared by the webhook (verify) and the local emulator (sign).
"""
import base64
import hmac


def sign(bot_secret: str, raw_body: bytes) -> str:
    # hmac.new rather than hmac.digest: the latter lets go of the interpreter lock for every call, and
    # each callback would then wait for it behind the other request threads.
    digest = hmac.new(bot_secret.encode("utf-8"), raw_body, "sha256").digest()
    return base64.b64encode(digest).decode("ascii")


def verify(bot_secret: str, raw_body: bytes, signature: str | None) -> bool:
    """Constant-time check of a received X-WORKS-Signature against the raw body."""
    if not signature:
        return False
    expected = sign(bot_secret, raw_body)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace"))
