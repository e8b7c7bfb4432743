"""Service-account auth: JWT assertion checks and the token store (section 1 of the API notes)."""
import secrets
import time

import jwt

from emulator.config import EmulatorConfig

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_JWT_LIFETIME = 3600  # exp - iat, seconds
CLOCK_SKEW = 60  # how far in the future iat may be


class AuthError(Exception):
    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def _int_claim(claims: dict, name: str) -> int:
    value = claims.get(name)
    # bool is an int in Python, and floats/strings are what sloppy clients send.
    if not isinstance(value, int) or isinstance(value, bool):
        raise AuthError(400, "invalid_grant", f"JWT claim '{name}' must be an integer (UNIX seconds)")
    return value


def verify_assertion(config: EmulatorConfig, assertion: str, now: float | None = None) -> dict:
    """Verify the RS256 signature and the claims; return the claims."""
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "RS256":
            raise AuthError(400, "invalid_grant", "JWT alg must be RS256")
        # Claim checks are done by hand below, so PyJWT only checks the signature.
        claims = jwt.decode(assertion, config.public_key_pem, algorithms=["RS256"],
                            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                     "verify_iss": False, "verify_aud": False, "verify_sub": False,
                                     "verify_jti": False})
    except jwt.PyJWTError as exc:
        raise AuthError(400, "invalid_grant", f"JWT assertion is invalid: {exc}") from exc

    if claims.get("iss") != config.client_id:
        raise AuthError(400, "invalid_grant", "JWT 'iss' must be the Client ID")
    if claims.get("sub") != config.service_account:
        raise AuthError(400, "invalid_grant", "JWT 'sub' must be the Service Account ID")
    iat, exp = _int_claim(claims, "iat"), _int_claim(claims, "exp")
    if exp <= now:
        raise AuthError(400, "invalid_grant", "JWT has expired ('exp' is in the past)")
    if exp - iat > MAX_JWT_LIFETIME:
        raise AuthError(400, "invalid_grant", "JWT lifetime (exp - iat) must be at most 3600 seconds")
    if exp <= iat:
        raise AuthError(400, "invalid_grant", "JWT 'exp' must be after 'iat'")
    if iat > now + CLOCK_SKEW:
        raise AuthError(400, "invalid_grant", "JWT 'iat' is in the future")
    return claims


class TokenStore:
    """Issued access and refresh tokens. The caller holds the state lock."""

    def __init__(self, ttl_seconds: int):
        self.ttl_seconds = ttl_seconds
        self.access: dict[str, float] = {}  # token -> expires at (time.time())
        self.granted: dict[str, frozenset[str]] = {}  # token -> the scopes it was issued for
        self.refresh: dict[str, str] = {}  # refresh token -> scope

    def issue(self, scope: str, refresh_token: str | None = None) -> dict:
        access_token = secrets.token_urlsafe(32)
        self.access[access_token] = time.time() + self.ttl_seconds
        self.granted[access_token] = frozenset(scope.split())
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(32)
            self.refresh[refresh_token] = scope
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": str(self.ttl_seconds),  # the real platform sends a string
            "scope": scope,
        }

    def is_valid(self, token: str) -> bool:
        expires_at = self.access.get(token)
        return expires_at is not None and expires_at > time.time()

    def scopes(self, token: str) -> frozenset[str]:
        return self.granted.get(token, frozenset())

    def expire_all(self) -> None:
        self.access.clear()
        self.granted.clear()


def issue_token(config: EmulatorConfig, tokens: TokenStore, form) -> dict:
    """Handle one form-encoded token request; raise AuthError on any problem."""
    if form.get("client_id") != config.client_id or form.get("client_secret") != config.client_secret:
        raise AuthError(401, "invalid_client", "client_id or client_secret is wrong")
    grant_type = form.get("grant_type")
    if grant_type == JWT_BEARER:
        assertion = form.get("assertion")
        if not assertion:
            raise AuthError(400, "invalid_request", "assertion is required")
        verify_assertion(config, assertion)
        return tokens.issue(form.get("scope", ""))
    if grant_type == "refresh_token":
        # Documented refresh flow; rotation is off by default, so the refresh token is reused.
        refresh_token = form.get("refresh_token", "")
        if refresh_token not in tokens.refresh:
            raise AuthError(400, "invalid_grant", "refresh_token is unknown")
        return tokens.issue(tokens.refresh[refresh_token], refresh_token=refresh_token)
    raise AuthError(400, "unsupported_grant_type",
                    f"grant_type must be exactly {JWT_BEARER!r} (or refresh_token)")
