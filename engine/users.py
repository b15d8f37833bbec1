"""Users (people and devices), their roles, passwords and API keys.

A person signs in with a name and password; a device (an OVOS speaker, a
meter gateway) is a user without a password that presents an API key. Each
user has one role of ``engine.permissions.ROLES`` and, optionally, one site.

Passwords are hashed with Argon2id (RFC 9106) through argon2-cffi, with its
default parameters; a hash made with older parameters is replaced at the next
sign-in. API keys read ``enms_<prefix>_<secret>``: the 12-character prefix is
stored in clear to find the key, the secret is 32 random bytes. Keys are
stored as the SHA-256 of the whole key: a slow hash protects passwords people
choose, whereas 256 random bits cannot be found from their hash, and a fast
hash keeps every device request fast. A key is shown once, when it is made.

Nothing here knows about HTTP; the API and the ``enms user`` command call it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa

from . import audit, permissions
from . import schema as s
from .errors import EnmsError, NotFound

MIN_PASSWORD_LENGTH = 12
KEY_START = "enms_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_KEY = re.compile(r"enms_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


class AuthenticationFailed(EnmsError):
    """A wrong name, password or key, or a disabled user (never says which)."""


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError:
        raise EnmsError("password hashing needs argon2-cffi: pip install 'enms[api]'") from None
    return PasswordHasher()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_name(name) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise EnmsError(f"invalid user name {name!r}: letters, digits and . _ @ -, starting "
                        "with a letter or digit, at most 100 characters")
    return name


def _check_role(role: str) -> None:
    if role not in permissions.ROLES:
        raise EnmsError(f"unknown role {role!r}: use one of {', '.join(permissions.ROLES)}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise EnmsError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")


def _users_query():
    return (sa.select(s.users, s.sites.c.name.label("site"))
            .outerjoin(s.sites, s.sites.c.id == s.users.c.site_id))


def _find(conn, name: str):
    return conn.execute(_users_query().where(s.users.c.name == name)).mappings().first()


def _user_row(conn, name: str):
    row = _find(conn, name)
    if row is None:
        raise NotFound(f"no user {name!r} (enms user list shows them)")
    return row


def _public(row) -> dict:
    """A user without its password hash."""
    return {"id": row["id"], "name": row["name"], "role": row["role"], "site": row["site"],
            "active": row["active"], "has_password": row["password_hash"] is not None,
            "created_at": row["created_at"], "disabled_at": row["disabled_at"]}


def _audit(conn, actor: str, action: str, name: str, before=None, after=None) -> None:
    audit.record(conn, actor, action, "user", name, before=before, after=after)


def create_user(store, name: str, role: str, *, password: str | None = None,
                site: str | None = None, actor: str) -> dict:
    """Add a user. Without a password it is a device that signs in by API key only."""
    _check_name(name)
    _check_role(role)
    password_hash = None
    if password is not None:
        _check_password(password)
        password_hash = _hasher().hash(password)
    with store.begin() as conn:
        if conn.execute(sa.select(s.users.c.id).where(s.users.c.name == name)).first():
            raise EnmsError(f"user {name!r} exists already")
        site_id = None
        if site is not None:
            site_id = conn.execute(sa.select(s.sites.c.id).where(s.sites.c.name == site)).scalar()
            if site_id is None:
                raise NotFound(f"no site {site!r} (enms catalog list sites)")
        conn.execute(s.users.insert().values(
            name=name, role=role, password_hash=password_hash, site_id=site_id, active=True,
            created_at=_now()))
        user = _public(_user_row(conn, name))
        _audit(conn, actor, "user.add", name, after=_audited(user))
    return user


def _audited(user: dict) -> dict:
    return {k: user[k] for k in ("role", "site", "active", "has_password")}


def get_user(store, name: str) -> dict:
    with store.read() as conn:
        return _public(_user_row(conn, name))


def list_users(store) -> list[dict]:
    """Every user, with the prefixes and labels of its API keys in use."""
    with store.read() as conn:
        rows = conn.execute(_users_query().order_by(s.users.c.name)).mappings().all()
        keys = conn.execute(sa.select(s.api_keys.c.user_id, s.api_keys.c.prefix,
                                      s.api_keys.c.label)
                            .where(s.api_keys.c.revoked_at.is_(None))
                            .order_by(s.api_keys.c.id)).mappings().all()
    users = []
    for row in rows:
        user = _public(row)
        user["api_keys"] = [{"prefix": k["prefix"], "label": k["label"]}
                            for k in keys if k["user_id"] == row["id"]]
        users.append(user)
    return users


def has_admin(store) -> bool:
    """True once an active admin exists (the first-run set-up is done)."""
    with store.read() as conn:
        return conn.execute(sa.select(s.users.c.id).where(
            s.users.c.role == "admin", s.users.c.active.is_(True))).first() is not None


def disable_user(store, name: str, *, actor: str) -> dict:
    """Disable a user: its password and API keys stop working at once. Users are
    never deleted, so who did what stays readable."""
    with store.begin() as conn:
        row = _user_row(conn, name)
        if not row["active"]:
            raise EnmsError(f"user {name!r} is disabled already")
        before = _audited(_public(row))
        conn.execute(s.users.update().where(s.users.c.id == row["id"])
                     .values(active=False, disabled_at=_now()))
        user = _public(_user_row(conn, name))
        _audit(conn, actor, "user.disable", name, before=before, after=_audited(user))
    return user


def set_role(store, name: str, role: str, *, actor: str) -> dict:
    """Give user ``name`` another role; it applies to its next request."""
    _check_role(role)
    with store.begin() as conn:
        row = _user_row(conn, name)
        if row["role"] == role:
            raise EnmsError(f"user {name!r} has the role {role} already")
        conn.execute(s.users.update().where(s.users.c.id == row["id"]).values(role=role))
        user = _public(_user_row(conn, name))
        _audit(conn, actor, "user.role", name, before={"role": row["role"]}, after={"role": role})
    return user


def authenticate(store, name: str, password: str) -> dict:
    """The active user ``name`` if ``password`` is theirs, else AuthenticationFailed."""
    from argon2.exceptions import InvalidHashError, VerificationError
    hasher = _hasher()
    with store.read() as conn:
        row = _find(conn, name)
    stored = row["password_hash"] if row is not None else None
    try:
        # An unknown name costs one hash too, so timing does not tell names apart.
        hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        stored = None
    if stored is None or not row["active"]:
        raise AuthenticationFailed("wrong user name or password")
    if hasher.check_needs_rehash(stored):
        with store.begin() as conn:
            conn.execute(s.users.update().where(s.users.c.id == row["id"])
                         .values(password_hash=hasher.hash(password)))
    return _public(row)


_DUMMY = {}


def _dummy_hash() -> str:
    if "hash" not in _DUMMY:
        _DUMMY["hash"] = _hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY["hash"]


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(store, name: str, label: str, *, actor: str) -> dict:
    """A new API key for user ``name``; the returned ``key`` is not stored and
    cannot be shown again."""
    label = (label or "").strip()
    if not label or len(label) > 200:
        raise EnmsError("an API key needs a label of 1 to 200 characters (what device uses it)")
    prefix = secrets.token_hex(6)
    key = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    with store.begin() as conn:
        row = _user_row(conn, name)
        if not row["active"]:
            raise EnmsError(f"user {name!r} is disabled")
        conn.execute(s.api_keys.insert().values(
            user_id=row["id"], prefix=prefix, key_hash=_key_hash(key), label=label,
            created_at=_now()))
        _audit(conn, actor, "user.api_key.add", name, after={"prefix": prefix, "label": label})
    return {"user": name, "prefix": prefix, "label": label, "key": key}


def revoke_api_key(store, prefix: str, *, actor: str) -> dict:
    """Revoke the API key with ``prefix``; it stops working at once."""
    with store.begin() as conn:
        row = conn.execute(sa.select(s.api_keys, s.users.c.name)
                           .join(s.users, s.users.c.id == s.api_keys.c.user_id)
                           .where(s.api_keys.c.prefix == prefix)).mappings().first()
        if row is None:
            raise NotFound(f"no API key with prefix {prefix!r}")
        if row["revoked_at"] is not None:
            raise EnmsError(f"API key {prefix} is revoked already")
        conn.execute(s.api_keys.update().where(s.api_keys.c.id == row["id"])
                     .values(revoked_at=_now()))
        _audit(conn, actor, "user.api_key.revoke", row["name"],
               before={"prefix": prefix, "label": row["label"]})
    return {"user": row["name"], "prefix": prefix, "label": row["label"], "revoked": True}


def verify_api_key(store, key: str) -> dict:
    """The active user whose unrevoked key ``key`` is, else AuthenticationFailed."""
    match = _KEY.fullmatch(key or "")
    if match is None:
        raise AuthenticationFailed("invalid API key")
    with store.read() as conn:
        row = conn.execute(sa.select(s.api_keys.c.key_hash, s.api_keys.c.revoked_at,
                                     s.users.c.name)
                           .join(s.users, s.users.c.id == s.api_keys.c.user_id)
                           .where(s.api_keys.c.prefix == match.group(1))).mappings().first()
        if (row is None or row["revoked_at"] is not None
                or not hmac.compare_digest(row["key_hash"], _key_hash(key))):
            raise AuthenticationFailed("invalid API key")
        user = _public(_user_row(conn, row["name"]))
    if not user["active"]:
        raise AuthenticationFailed("invalid API key")
    return user


def active_user(store, name: str) -> dict:
    """The user ``name`` as stored now, if active (a token outlives a disabling)."""
    with store.read() as conn:
        row = _find(conn, name)
    if row is None or not row["active"]:
        raise AuthenticationFailed("the user is unknown or disabled")
    return _public(row)
