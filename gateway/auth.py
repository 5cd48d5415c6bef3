"""Who is asking: a Bearer JWT gives the viewer (user id and roles); a guest carries a session id.

Tokens come from the identity provider in production, verified with an HS256 secret, an RS256 public key (PEM
file) or a JWKS file (key chosen by the token's ``kid``), from settings. ``exp``, ``nbf``, ``iss`` and ``aud``
are always checked, and ``sub`` must be a user id. ``mint`` signs development and test tokens with the HS256
secret (``gateway token``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt

from gateway.config import Settings

ADMIN = "admin"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles


class TokenError(Exception):
    """The request carries a token that cannot be trusted: the whole request is refused with 401."""


@lru_cache(maxsize=8)
def _file(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _key(settings: Settings, token: str) -> tuple[Any, list[str]]:
    if settings.auth_jwks_file is not None:
        keys = jwt.PyJWKSet.from_json(_file(settings.auth_jwks_file))
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if key.key_id == kid:
                return key.key, ["RS256"]
        raise TokenError("the token's key id is not in the key set")
    if settings.auth_public_key_file is not None:
        return _file(settings.auth_public_key_file), ["RS256"]
    if settings.auth_jwt_secret is None:
        raise TokenError("no token key is configured")
    return settings.auth_jwt_secret.get_secret_value(), ["HS256"]


def viewer_from(settings: Settings, authorization: str | None) -> Viewer | None:
    """The viewer named by an ``Authorization: Bearer`` header; None without one; TokenError when it is bad."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header must be 'Bearer <token>'")
    token = token.strip()
    try:
        key, algorithms = _key(settings, token)
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=settings.auth_audience,
            issuer=settings.auth_issuer,
            leeway=settings.auth_leeway_s,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    subject = str(claims["sub"])
    if not subject.isdecimal() or not 0 < int(subject) < 2**63:
        raise TokenError("invalid token: sub must be a user id")
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise TokenError("invalid token: roles must be a list of strings")
    return Viewer(int(subject), frozenset(roles))


def session_from(header: str | None, cookie: str | None) -> str | None:
    """A guest's session id, from ``X-Session-Id`` or the session cookie; ignored unless well formed."""
    for value in (header, cookie):
        if value is not None and SESSION_ID.match(value.strip()):
            return value.strip()
    return None


def mint(settings: Settings, user_id: int, *, roles: tuple[str, ...] = (), ttl_s: int = 3600) -> str:
    """A signed HS256 token for development and tests."""
    if settings.auth_jwt_secret is None:
        raise ValueError("minting needs GATEWAY_AUTH_JWT_SECRET (HS256)")
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "roles": list(roles),
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, settings.auth_jwt_secret.get_secret_value(), algorithm="HS256")
