"""Settings of one emulated LINE WORKS tenant (one bot, one service account)."""
from dataclasses import dataclass


@dataclass
class EmulatorConfig:
    bot_id: str
    bot_secret: str
    client_id: str
    client_secret: str
    service_account: str
    public_key_pem: str  # service-account public key (PEM text) used to verify JWT assertions
    callback_url: str | None  # the bot's POST /callback; None = callbacks are not delivered
    rate_limit_per_minute: int = 240
    token_ttl_seconds: int = 86400
    directory_size: int = 0  # extra synthetic active members for load tests
    domain_id: int = 10000001
    # How long an injected "timeout" fault sleeps unless the fault says otherwise.
    fault_timeout_seconds: float = 15.0
    # The real platform's callback timeout is undocumented; 10 s is our guess.
    callback_timeout_seconds: float = 10.0
    # Member sign-in (User Account auth): codes are valid 10 minutes (API notes 1.5). The redirect
    # URLs registered for the app in the Developer Console (exact match); empty = any http(s) URL.
    authorization_code_ttl_seconds: float = 600.0
    redirect_uris: tuple[str, ...] = ()
