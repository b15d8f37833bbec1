"""/api/v1/auth/token (sign in), /api/v1/users (users and API keys) and
/api/v1/audit (the audit trail)."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import Field

from .. import audit, permissions, users
from .auth import Permitted, issue_token
from .common import Body, EngineJSON, Name, StoreDep, built_file

router = APIRouter()
USER_NAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$"


@router.post("/auth/token", tags=["auth"])
def sign_in(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()],
            store: StoreDep):
    """Sign in with a user name and password (form fields ``username`` and
    ``password``); returns a bearer token. Repeated failures from one address
    for one name are refused with 429 for a while."""
    state = request.app.state
    key = (request.client.host if request.client else "", form.username)
    wait = state.sign_in_limit.retry_after_s(key)
    if wait:
        raise HTTPException(429, f"too many failed sign-ins: try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    try:
        user = users.authenticate(store, form.username, form.password)
    except users.AuthenticationFailed as exc:
        state.sign_in_limit.failed(key)
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    state.sign_in_limit.succeeded(key)
    return EngineJSON({"access_token": issue_token(state.jwt_secret, user, state.token_ttl_s),
                       "token_type": "bearer", "expires_in": state.token_ttl_s,
                       "user": user["name"], "role": user["role"]})


@router.get("/auth/me", tags=["auth"])
def me(user: Permitted("account.read")):
    """The calling user and what their role may do."""
    return EngineJSON({**user, "may": [a for a in permissions.ACTIONS
                                       if permissions.allowed(user["role"], a)]})


class UserIn(Body):
    name: str = Field(pattern=USER_NAME, examples=["a.engineer"])
    role: Literal[permissions.ROLES]
    password: str | None = Field(None, min_length=users.MIN_PASSWORD_LENGTH, max_length=1000,
                                 description="omitted: a device that signs in by API key only")
    site: Name | None = None


@router.get("/users", tags=["users"])
def list_users(store: StoreDep, user: Permitted("users.manage")):
    """Every user with its role, site, state and API key prefixes."""
    return EngineJSON(users.list_users(store))


@router.post("/users", tags=["users"], status_code=201)
def add_user(body: UserIn, store: StoreDep, user: Permitted("users.manage")):
    """Add a person (with a password) or a device (without; then add a key)."""
    return EngineJSON(users.create_user(store, body.name, body.role, password=body.password,
                                        site=body.site, actor=user["name"]), status_code=201)


UserName = Annotated[str, Path(pattern=USER_NAME)]


@router.post("/users/{name}/disable", tags=["users"])
def disable_user(name: UserName, store: StoreDep, user: Permitted("users.manage")):
    """Disable a user: its tokens and API keys stop working at once."""
    return EngineJSON(users.disable_user(store, name, actor=user["name"]))


class RoleIn(Body):
    role: Literal[permissions.ROLES]


@router.post("/users/{name}/role", tags=["users"])
def set_role(name: UserName, body: RoleIn, store: StoreDep, user: Permitted("users.manage")):
    """Give a user another role; it applies from its next request."""
    return EngineJSON(users.set_role(store, name, body.role, actor=user["name"]))


class KeyIn(Body):
    label: str = Field(min_length=1, max_length=200, examples=["kitchen speaker"])


@router.post("/users/{name}/api-keys", tags=["users"], status_code=201)
def add_api_key(name: UserName, body: KeyIn, store: StoreDep, user: Permitted("users.manage")):
    """A new API key for a user; ``key`` is shown this once and never again."""
    return EngineJSON(users.create_api_key(store, name, body.label, actor=user["name"]),
                      status_code=201)


@router.get("/audit-pack", tags=["audit"], response_class=FileResponse)
def audit_pack(year: Annotated[int, Query(ge=1970, le=2200)], store: StoreDep,
               user: Permitted("audit.export")):
    """The ISO 50001 audit package of a year as one PDF (``enms audit-pack``):
    policy, energy review, methods, performance, investigations, adjustments,
    data quality, savings, with charts. Takes some seconds."""
    try:
        from .. import audit_pack as pack
    except ImportError as exc:
        raise HTTPException(503, f"the audit package needs the reports extra: "
                            f"pip install 'enms[reports]' ({exc})") from None
    return built_file(lambda folder: pack.build(store, year, folder)["pdf"], "application/pdf",
                      f"audit-pack-{year}.pdf")


@router.get("/audit", tags=["audit"])
def audit_log(store: StoreDep, user: Permitted("audit.read"),
              since: datetime | None = None, until: datetime | None = None,
              actor: Annotated[str | None, Query(max_length=200)] = None,
              action: Annotated[str | None, Query(pattern=r"^[a-z_.]{1,60}$")] = None,
              entity: Annotated[str | None, Query(max_length=300)] = None,
              limit: Annotated[int, Query(ge=1, le=10000)] = 1000):
    """Audit records, oldest first (the newest ``limit``): who changed what,
    when, before and after, and why."""
    return EngineJSON(audit.log(store, since=since, until=until, actor=actor, action=action,
                                entity=entity, limit=limit))
