"""``gateway token``: a signed token for development and tests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from gateway.config import Settings

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _ttl(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``1h``, ``7d`` → seconds (at least 1)."""
    value, unit = (text[:-1], text[-1]) if text and text[-1] in _TTL_UNITS else (text, "s")
    if not value.isdecimal() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 7d)")
    return int(value) * _TTL_UNITS[unit]


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.auth import mint

    if settings.auth_jwt_secret is None:
        print("gateway token: minting needs GATEWAY_AUTH_JWT_SECRET (HS256)", file=sys.stderr)
        return 2
    print(mint(settings, args.user, roles=tuple(args.role), ttl_s=args.ttl))
    return 0


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    token = add_parser("token", help="mint a signed token for development and tests (HS256)")
    token.add_argument("--user", type=int, required=True, help="the user id (the token's sub)")
    token.add_argument("--role", action="append", default=[], help="a role, e.g. admin (repeatable)")
    token.add_argument("--ttl", type=_ttl, default=3600, help="lifetime: 90s, 15m, 1h (default), 7d")
    token.set_defaults(run=_token)
