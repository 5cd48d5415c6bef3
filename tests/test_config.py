"""Settings come from GATEWAY_* variables, default to the local servers, and refuse dev secrets elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import DEV_PASSWORD, Settings


def test_defaults_match_the_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("GATEWAY_")]:  # a checkout on other ports
        monkeypatch.delenv(name)
    settings = Settings()
    assert settings.mysql_url.startswith("mysql+asyncmy://gateway@127.0.0.1:3306/")
    assert settings.mysql_database == "gateway"
    assert settings.mongo_url == "mongodb://127.0.0.1:27017/"
    assert settings.neo4j_url == "bolt://127.0.0.1:7687"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.host == "127.0.0.1"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://10.1.2.3:6380/4")
    monkeypatch.setenv("GATEWAY_SOURCE_TIMEOUT_S", "0.5")
    settings = Settings()
    assert settings.redis_db == 4
    assert settings.source_timeout_s == 0.5


def test_production_refuses_development_passwords() -> None:
    with pytest.raises(ValidationError, match="GATEWAY_MYSQL_PASSWORD must be set"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="GATEWAY_AUTH_JWT_SECRET must be set"):
        Settings(env="production", mysql_password="s3cret-a", neo4j_password="s3cret-b")
    settings = Settings(
        env="production", mysql_password="s3cret-a", neo4j_password="s3cret-b", auth_jwt_secret="jwt-s3cret"
    )
    assert settings.mysql_password.get_secret_value() == "s3cret-a"


def test_production_may_verify_with_a_public_key_only(tmp_path: Path) -> None:
    key = tmp_path / "public.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n")
    settings = Settings(
        env="production", mysql_password="a", neo4j_password="b", auth_jwt_secret="", auth_public_key_file=key
    )
    assert settings.auth_jwt_secret is None
    assert settings.auth_public_key_file == key


def test_secrets_do_not_show_in_repr() -> None:
    assert DEV_PASSWORD not in repr(Settings())


def test_bad_values_fail_fast() -> None:
    with pytest.raises(ValidationError):
        Settings(port=0)
    with pytest.raises(ValidationError):
        Settings(source_timeout_s=0)


def test_mysql_replica_urls_from_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_MYSQL_REPLICA_URLS", raising=False)
    assert Settings().mysql_replica_urls == ()  # no replica unless configured
    monkeypatch.setenv(
        "GATEWAY_MYSQL_REPLICA_URLS",
        " mysql+asyncmy://gateway@r1:3306/gateway, mysql+asyncmy://gateway@r2:3306/gateway,",
    )
    monkeypatch.setenv("GATEWAY_MYSQL_REPLICA_STICKY_S", "2.5")
    settings = Settings()
    assert settings.mysql_replica_urls == (
        "mysql+asyncmy://gateway@r1:3306/gateway",
        "mysql+asyncmy://gateway@r2:3306/gateway",
    )
    assert settings.mysql_replica_sticky_s == 2.5
    monkeypatch.setenv("GATEWAY_MYSQL_REPLICA_URLS", "")
    assert Settings().mysql_replica_urls == ()
