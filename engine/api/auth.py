"""Who is calling: JWT bearer tokens for people, API keys for devices, and the
sign-in rate limit.

Tokens are HS256 JSON Web Tokens (RFC 7519) with the user name as subject
and an expiry (``ENMS_JWT_TTL_S``, default one hour). The signing secret is
``ENMS_JWT_SECRET``, else one generated at first start and kept in the data
directory (``jwt-secret``, readable by its owner only); there is no built-in
default, so no two installations share a secret. Every request reads the
user again, so disabling a user or changing a role takes effect at once,
before the token expires.

A device sends its key in the ``X-API-Key`` header.
"""

import os
import secrets
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from .. import permissions, users
from ..store import default_data_dir

ALGORITHM = "HS256"
ISSUER = "enms"
DEFAULT_TTL_S = 3600
SECRET_FILE = "jwt-secret"
MIN_SECRET_LENGTH = 32

# OAuth2's password flow, so the Authorize button of /api/v1/docs signs in.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                               description="a token from POST /api/v1/auth/token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                        description="a device's API key (enms user key NAME)")


def load_secret(data_dir: Path | None = None) -> str:
    """ENMS_JWT_SECRET, else the secret kept in the data directory (made once)."""
    secret = os.environ.get("ENMS_JWT_SECRET")
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"ENMS_JWT_SECRET is too short: at least {MIN_SECRET_LENGTH} "
                             "characters")
        return secret
    path = (data_dir or default_data_dir()) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two servers starting at once keep one secret between them.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def token_ttl_s() -> int:
    text = os.environ.get("ENMS_JWT_TTL_S")
    if not text:
        return DEFAULT_TTL_S
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"ENMS_JWT_TTL_S must be a positive whole number of seconds, "
                         f"got {text!r}")
    return int(text)


def issue_token(secret: str, user: dict, ttl_s: int, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {"sub": user["name"], "role": user["role"], "iss": ISSUER, "iat": now,
              "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def current_user(request: Request,
                 bearer: str | None = Security(_bearer),
                 api_key: str | None = Security(_api_key)) -> dict:
    """The calling user, from a bearer token or an API key; 401 otherwise."""
    store = request.app.state.store
    if api_key:
        try:
            return users.verify_api_key(store, api_key)
        except users.AuthenticationFailed:
            raise _unauthorized("invalid API key") from None
    if bearer is None:
        raise _unauthorized("not signed in: send 'Authorization: Bearer <token>' "
                            "(POST /api/v1/auth/token) or a device's X-API-Key")
    try:
        claims = jwt.decode(bearer, request.app.state.jwt_secret,
                            algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("the token has expired: sign in again") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    try:
        return users.active_user(store, claims["sub"])
    except users.AuthenticationFailed:
        raise _unauthorized("the token's user is unknown or disabled") from None


def require(action: str):
    """A dependency: the calling user, if their role may do ``action``; else 403."""
    roles = permissions.roles_for(action)  # KeyError at start-up for a misspelt action

    def check(user: dict = Depends(current_user)) -> dict:
        if not permissions.allowed(user["role"], action):
            raise HTTPException(403, f"the role {user['role']} may not {action} "
                                f"(allowed: {', '.join(roles)})")
        return user
    check.action = action  # create_app names it in the OpenAPI document
    return check


def Permitted(action: str):  # noqa: N802 - used as a type: ``user: Permitted("x")``
    """The annotation of a route's user parameter that checks ``action``."""
    return Annotated[dict, Depends(require(action))]


class FailureLimit:
    """At most ``limit`` failed sign-ins per key (client address and user name)
    in ``window_s`` seconds; then 429 until the oldest failure leaves the window.
    Kept in memory: one server process (several processes multiply the limit)."""

    def __init__(self, limit: int = 5, window_s: float = 900.0):
        self.limit, self.window_s = limit, window_s
        self._failures: dict[tuple, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key, now: float) -> deque:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after_s(self, key, now: float | None = None) -> int:
        """Seconds to wait before another try; 0 if one is allowed now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window_s - now + 0.999))

    def failed(self, key, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(key, now).append(now)

    def succeeded(self, key) -> None:
        with self._lock:
            self._failures.pop(key, None)
