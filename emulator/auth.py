"""Auth server: service-account JWT assertion checks, member sign-in (authorization codes) and the
token store (sections 1 and 9 of the API notes)."""
import secrets
import time
from dataclasses import dataclass

import jwt

from emulator.config import EmulatorConfig

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUTHORIZATION_CODE = "authorization_code"
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
    """Issued access and refresh tokens. The caller holds the state lock.

    A token issued to a member (User Account auth) also remembers that member's userId; a
    service-account token has no owner.
    """

    def __init__(self, ttl_seconds: int):
        self.ttl_seconds = ttl_seconds
        self.access: dict[str, float] = {}  # token -> expires at (time.time())
        self.granted: dict[str, frozenset[str]] = {}  # token -> the scopes it was issued for
        self.refresh: dict[str, str] = {}  # refresh token -> scope
        self.owner: dict[str, str] = {}  # member's access token -> userId
        self.refresh_owner: dict[str, str] = {}  # member's refresh token -> userId

    def issue(self, scope: str, refresh_token: str | None = None, user_id: str | None = None) -> dict:
        access_token = secrets.token_urlsafe(32)
        self.access[access_token] = time.time() + self.ttl_seconds
        self.granted[access_token] = frozenset(scope.split())
        if user_id is not None:
            self.owner[access_token] = user_id
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(32)
            self.refresh[refresh_token] = scope
            if user_id is not None:
                self.refresh_owner[refresh_token] = user_id
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

    def user_of(self, token: str) -> str | None:
        """The member a token was issued to, or None for a service-account token."""
        return self.owner.get(token)

    def revoke_member(self, user_id: str) -> None:
        """Expire a member's access and refresh tokens (what force-logout does, API notes 5)."""
        for token in [t for t, owner in self.owner.items() if owner == user_id]:
            self.access.pop(token, None)
            self.granted.pop(token, None)
            del self.owner[token]
        for token in [t for t, owner in self.refresh_owner.items() if owner == user_id]:
            self.refresh.pop(token, None)
            del self.refresh_owner[token]

    def expire_all(self) -> None:
        self.access.clear()
        self.granted.clear()
        self.owner.clear()


@dataclass(frozen=True)
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    expires_at: float  # time.time()


class AuthorizationCodes:
    """Member sign-in codes: random, single use, valid for `ttl_seconds` (10 min, API notes 1.5).
    The caller holds the state lock."""

    def __init__(self, ttl_seconds: float):
        self.ttl_seconds = ttl_seconds
        self.pending: dict[str, AuthorizationCode] = {}
        self.used: set[str] = set()

    def create(self, client_id: str, redirect_uri: str, scope: str, user_id: str) -> str:
        code = secrets.token_urlsafe(32)
        self.pending[code] = AuthorizationCode(client_id, redirect_uri, scope, user_id,
                                               time.time() + self.ttl_seconds)
        return code

    def find(self, code: str) -> AuthorizationCode:
        """The code's grant; AuthError invalid_grant when it is unknown, used or expired."""
        if code in self.used:
            raise AuthError(400, "invalid_grant", "the authorization code has already been used")
        grant = self.pending.get(code)
        if grant is None:
            raise AuthError(400, "invalid_grant", "the authorization code is unknown")
        if grant.expires_at <= time.time():
            del self.pending[code]
            raise AuthError(400, "invalid_grant", "the authorization code has expired (valid 10 minutes)")
        return grant

    def consume(self, code: str) -> None:
        del self.pending[code]
        self.used.add(code)


def issue_token(config: EmulatorConfig, tokens: TokenStore, form,
                codes: AuthorizationCodes | None = None) -> dict:
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
    if grant_type == AUTHORIZATION_CODE and codes is not None:
        return _exchange_code(tokens, codes, form)
    if grant_type == "refresh_token":
        # Documented refresh flow; rotation is off by default, so the refresh token is reused.
        refresh_token = form.get("refresh_token", "")
        if refresh_token not in tokens.refresh:
            raise AuthError(400, "invalid_grant", "refresh_token is unknown")
        return tokens.issue(tokens.refresh[refresh_token], refresh_token=refresh_token,
                            user_id=tokens.refresh_owner.get(refresh_token))
    raise AuthError(400, "unsupported_grant_type",
                    f"grant_type must be exactly {JWT_BEARER!r} (or {AUTHORIZATION_CODE}, refresh_token)")


def _exchange_code(tokens: TokenStore, codes: AuthorizationCodes, form) -> dict:
    """grant_type=authorization_code (member sign-in, API notes 1.5 and 9). The code is used up
    only by a successful exchange."""
    code = form.get("code")
    if not code:
        raise AuthError(400, "invalid_request", "code is required")
    redirect_uri = form.get("redirect_uri")
    if not redirect_uri:
        raise AuthError(400, "invalid_request",
                        "redirect_uri is required: the one the authorization code was issued for")
    grant = codes.find(code)
    if grant.client_id != form.get("client_id"):
        raise AuthError(400, "invalid_grant", "the authorization code was issued to another client")
    if grant.redirect_uri != redirect_uri:
        raise AuthError(400, "invalid_grant",
                        "redirect_uri does not match the one the authorization code was issued for")
    codes.consume(code)
    return tokens.issue(grant.scope, user_id=grant.user_id)
