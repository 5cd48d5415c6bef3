"""Token verification: every claim that must be checked is checked, with real keys (HS256, RS256 PEM, JWKS)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.auth import TokenError, Viewer, mint, session_from, viewer_from
from gateway.config import Settings
from tests.conftest import make_test_settings

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "42",
        "roles": ["admin"],
        "iss": "polyglot-gateway",
        "aud": "polyglot-gateway",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


@pytest.fixture
def settings() -> Settings:
    return make_test_settings(auth_jwt_secret=SECRET)


def test_a_good_token_gives_the_viewer_and_roles(settings: Settings) -> None:
    assert viewer_from(settings, f"Bearer {hs256()}") == Viewer(42, frozenset({"admin"}))
    assert viewer_from(settings, f"bearer  {hs256(roles=None)}") == Viewer(42, frozenset())
    assert viewer_from(settings, None) is None
    assert viewer_from(settings, "  ") is None


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: hs256(exp=int(time.time()) - 120), "expired"),
        (lambda: hs256(nbf=int(time.time()) + 600), "not yet valid"),
        (lambda: hs256(iss="someone-else"), "issuer"),
        (lambda: hs256(aud="another-api"), "Audience"),
        (lambda: hs256(exp=None), "exp"),
        (lambda: hs256(sub="alice"), "sub must be a user id"),
        (lambda: hs256(sub="-3"), "sub must be a user id"),
        (lambda: hs256(roles="admin"), "roles must be a list"),
        (lambda: jwt.encode(claims(), "another-secret-also-long-enough-for-hs256", algorithm="HS256"), "Signature"),
        (lambda: jwt.encode(claims(), None, algorithm="none"), "alg value is not allowed"),
        (lambda: hs256()[:-4] + "AAAA", "Signature"),
        (lambda: "not.a.token", "invalid token"),
    ],
)
def test_bad_tokens_are_refused(settings: Settings, token: Any, reason: str) -> None:
    with pytest.raises(TokenError, match=reason):
        viewer_from(settings, f"Bearer {token()}")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_other_schemes_are_refused(settings: Settings, header: str) -> None:
    with pytest.raises(TokenError, match="Bearer"):
        viewer_from(settings, header)


@pytest.fixture
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_rs256_with_a_public_key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "public.pem").write_bytes(pem)
    settings = make_test_settings(auth_jwt_secret="", auth_public_key_file=tmp_path / "public.pem")
    token = jwt.encode(claims(sub="7", roles=[]), rsa_key, algorithm="RS256")
    assert viewer_from(settings, f"Bearer {token}") == Viewer(7, frozenset())
    with pytest.raises(TokenError):  # an HS256 token signed with the public key text must not pass
        viewer_from(settings, f"Bearer {jwt.encode(claims(), 'x' * 40, algorithm='HS256')}")


def test_rs256_with_a_jwks_file_picks_the_key_by_kid(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    settings = make_test_settings(auth_jwt_secret="", auth_jwks_file=tmp_path / "jwks.json")
    good = jwt.encode(claims(sub="9"), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert viewer_from(settings, f"Bearer {good}") == Viewer(9, frozenset({"admin"}))
    unknown = jwt.encode(claims(sub="9"), rsa_key, algorithm="RS256", headers={"kid": "k2"})
    with pytest.raises(TokenError, match="key id"):
        viewer_from(settings, f"Bearer {unknown}")


def test_session_ids_are_taken_only_when_well_formed() -> None:
    assert session_from("guest-session-0001", None) == "guest-session-0001"
    assert session_from(None, "cookie_session_01") == "cookie_session_01"
    assert session_from("short", "cookie_session_01") == "cookie_session_01"
    assert session_from("'; DROP TABLE carts; --", None) is None


def test_mint_and_the_token_command_round_trip(settings: Settings) -> None:
    assert viewer_from(settings, f"Bearer {mint(settings, 5, roles=('admin',))}") == Viewer(5, frozenset({"admin"}))
    gateway = str(Path(sys.executable).with_name("gateway"))
    done = subprocess.run(
        [gateway, "token", "--user", "12", "--role", "admin", "--ttl", "2h"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    token = done.stdout.strip()
    dev = Settings()
    assert viewer_from(dev, f"Bearer {token}") == Viewer(12, frozenset({"admin"}))
    decoded = jwt.decode(token, options={"verify_signature": False})
    assert 7190 <= decoded["exp"] - decoded["iat"] <= 7200
