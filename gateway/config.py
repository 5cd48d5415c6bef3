"""Typed settings, read from ``GATEWAY_*`` environment variables.

The defaults match what ``scripts/services`` starts on 127.0.0.1, so a developer needs no configuration.
Outside ``GATEWAY_ENV=development`` every secret must be set explicitly: the development passwords are
refused (fail fast at start, not at the first query).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_PASSWORD = "gateway-dev-password"  # local development default, refused outside development
DEV_JWT_SECRET = "gateway-dev-jwt-secret-not-for-production"  # likewise

SourceName = Literal["mysql", "mongodb", "neo4j", "redis"]
SOURCE_NAMES: tuple[SourceName, ...] = ("mysql", "mongodb", "neo4j", "redis")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Observability (gateway/observability/): log lines as JSON or text (auto: text in development, JSON
    # otherwise), Prometheus metrics on GET /metrics, OpenTelemetry spans to this OTLP/HTTP collector when set.
    log_format: Literal["auto", "json", "text"] = "auto"
    metrics: bool = True
    otel_endpoint: str | None = None

    # `gateway serve`: worker processes (each with its own store clients), and shutdown. On SIGTERM (or the first
    # Ctrl+C) /ready answers 503 {"draining": true} for shutdown_drain_s while everything is still served, so a
    # load balancer stops sending; then the server stops accepting and waits up to shutdown_timeout_s for requests
    # in flight before it cancels them and closes the store clients.
    workers: int = Field(default=1, ge=1, le=64)
    shutdown_drain_s: float = Field(default=0.0, ge=0, le=300)
    shutdown_timeout_s: int = Field(default=30, ge=1)

    # MySQL / MariaDB: the system of record. The password lives apart from the URL so it can come from a secret.
    mysql_url: str = "mysql+asyncmy://gateway@127.0.0.1:3306/gateway"
    mysql_password: SecretStr = SecretStr(DEV_PASSWORD)
    mysql_pool_size: int = Field(default=10, ge=1)
    # Read replicas (docs/scaling.md): URLs of MariaDB/MySQL replicas of that primary (comma-separated; same
    # password). Empty: every statement goes to the primary. Otherwise the reads of Query operations go to a replica
    # (round-robin), and everything else (mutations with their reads, subscriptions, the relay, seed, reconcile,
    # migrate) to the primary; after a viewer's (or a guest session's) mutation, that viewer's queries read the
    # primary for mysql_replica_sticky_s (read-your-writes), and an entity invalidated that recently is fetched from
    # the primary on a cache miss. Set it above the replicas' usual lag.
    mysql_replica_urls: Annotated[tuple[str, ...], NoDecode] = ()
    mysql_replica_sticky_s: float = Field(default=5.0, gt=0, le=3600)

    # MongoDB (mongo-java-server locally): attributes, profiles, events, metrics.
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = "gateway"
    # Where the read path's MongoDB reads go in a replica set (PyMongo's read preference modes) and their read
    # concern; the documents MongoDB owns (product attributes, the attribute registry) are read from the primary
    # whatever this says, so a mutation's writer reads them back. The relay's writes (metrics, events, profiles)
    # are acknowledged with this write concern ("majority" or a number of members) and the journal option.
    mongo_read_preference: Literal["primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"] = (
        "primary"
    )
    mongo_read_concern: Literal["local", "available", "majority"] = "local"
    mongo_write_concern: str = Field(default="majority", pattern=r"^(majority|[0-9]{1,2})$")
    mongo_write_journal: bool = True

    # Neo4j: the purchase / rating graph.
    neo4j_url: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr(DEV_PASSWORD)
    neo4j_database: str = "neo4j"

    # Redis: caches, persisted queries, carts, sessions. rediss:// for TLS; an ACL user as redis://user:password@…
    # (gateway/stores/redis/connect.py). redis_cluster: the URL names one node of a Redis Cluster.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False

    # Every call to a store is bounded by this many seconds (connect included).
    source_timeout_s: float = Field(default=2.0, gt=0)
    # ... except in the batch commands (gateway seed, reconcile, migrate), whose bulk reads and writes at a million
    # orders outlast a request's bound: there every store call (and each client's socket) is bounded by this
    # instead. Bulk calls are never bounded below 60-120 s (gateway/stores/guard.bulk_bound).
    batch_timeout_s: float = Field(default=120.0, gt=0)
    # Circuit breaker per store (gateway/stores/breaker.py): open after this many consecutive failures (unavailable or
    # timed out); while open, calls to that store fail at once; after breaker_reset_s one probe call goes through.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=5.0, gt=0)

    # DataLoaders: at most this many keys per batch (one round trip each). Batching off = one round trip per key
    # (the naive N+1 resolution, kept for benchmarks and for comparing explain output).
    loader_max_batch_size: int = Field(default=1000, ge=1)
    loader_batching: bool = True

    # Execution (engine/): queries run as compiled plans ("plan"), or on strawberry's resolvers for every operation
    # ("resolvers", the reference the plan executor is tested against). Mutations, subscriptions and introspection
    # always run on the resolvers. Prepared documents (parsed, validated, with their plans) are kept per process,
    # at most plan_cache_size of them.
    executor: Literal["plan", "resolvers"] = "plan"
    plan_cache_size: int = Field(default=1000, ge=1)
    # Python's cyclic garbage collector: objects allocated before a collection of the youngest generation (the
    # interpreter's default is 700). A page allocates some 10,000 short-lived objects that reference counting
    # frees; collecting every 700 of them cost a third of the CPU of a 420-line page (measured, bench/executor.py).
    # At start, everything alive (modules, the schema, compiled plans' code) is frozen out of collection.
    gc_threshold: int = Field(default=50_000, ge=100)

    # GraphQL over HTTP: the largest request body accepted (bytes), and the largest page a connection serves.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_page_size: int = Field(default=1000, ge=1)

    # Identity: Bearer JWTs verified with an HS256 secret, or an RS256 public key (PEM) or JWKS file.
    auth_jwt_secret: SecretStr | None = SecretStr(DEV_JWT_SECRET)
    auth_public_key_file: Path | None = None
    auth_jwks_file: Path | None = None
    auth_issuer: str = "polyglot-gateway"
    auth_audience: str = "polyglot-gateway"
    auth_leeway_s: int = Field(default=30, ge=0, le=300)
    session_cookie: str = "gateway_session"

    # Limits, checked before execution; the request timeout bounds execution.
    max_query_bytes: int = Field(default=100_000, ge=100)
    max_tokens: int = Field(default=5_000, ge=10)
    max_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_cost: int = Field(default=250_000, ge=1)
    request_timeout_s: float = Field(default=15.0, gt=0)
    introspection: bool = True
    explain: bool = True

    # Rate limits (gateway/http/rate_limits.py): a token bucket in Redis per client, charged each request's cost
    # (the cost the limits compute; 1 at least). Per role: at most `burst` in one go, refilled at `per_s` a second;
    # a burst of 0 turns that role's limit off. Guests are limited by their session (else their address), and every
    # guest request is also charged to its address's bucket (`address`), so new session ids do not reset a limit.
    rate_limit: bool = True
    rate_limit_guest_burst: int = Field(default=3_000, ge=0)
    rate_limit_guest_per_s: float = Field(default=150.0, gt=0)
    rate_limit_address_burst: int = Field(default=30_000, ge=0)
    rate_limit_address_per_s: float = Field(default=1_500.0, gt=0)
    rate_limit_user_burst: int = Field(default=30_000, ge=0)
    rate_limit_user_per_s: float = Field(default=1_500.0, gt=0)
    rate_limit_admin_burst: int = Field(default=0, ge=0)
    rate_limit_admin_per_s: float = Field(default=10_000.0, gt=0)

    # Writes: MySQL transactions may wait for row locks and pool connections longer than a read may.
    write_timeout_s: float = Field(default=10.0, gt=0)
    max_order_lines: int = Field(default=50, ge=1)

    # Carts live in Redis and expire this long after their last change (a signed-in user's is also snapshotted to
    # MySQL, which restores it after a Redis loss until the same age).
    cart_ttl_s: int = Field(default=30 * 86_400, ge=60)
    guest_cart_ttl_s: int = Field(default=7 * 86_400, ge=60)

    # Outbox relay (``gateway relay``, or in ``gateway serve`` when relay_in_serve is on).
    relay_in_serve: bool = False
    relay_batch_size: int = Field(default=200, ge=1)
    relay_lease_s: float = Field(default=30.0, gt=0)
    relay_max_attempts: int = Field(default=5, ge=1)
    relay_backoff_s: float = Field(default=0.5, gt=0)
    relay_idle_s: float = Field(default=0.2, gt=0)
    # The admin's reconcile check (``runReconcileCheck``): one at a time across processes, bounded.
    reconcile_check_timeout_s: float = Field(default=300.0, gt=0)

    # Behaviour events (MongoDB `events`, docs/analytics.md): recorded in memory and written by a background task in
    # batches of events_batch_size, at least every events_flush_interval_s; at most events_buffer_size wait in
    # memory (past that, and for a MongoDB outage longer than the buffer lasts, new events are dropped and counted
    # in gateway_events_total{outcome="dropped_full"}). Recording never fails or holds up a request.
    events_recording: bool = True
    events_buffer_size: int = Field(default=20_000, ge=1)
    events_batch_size: int = Field(default=500, ge=1)
    events_flush_interval_s: float = Field(default=0.5, gt=0)
    # Sessions in Redis (session:{id}): they expire this long after their last request (sliding). Their last
    # activity is written by a background task, at most every events_flush_interval_s per process.
    session_ttl_s: int = Field(default=1800, ge=60)
    # Reports (gateway reports build; inside `gateway serve` when reports_in_serve is on, every reports_interval_s,
    # by the one process holding the Redis lease for reports_lease_s).
    reports_in_serve: bool = False
    reports_interval_s: float = Field(default=300.0, gt=0)
    reports_lease_s: float = Field(default=600.0, gt=0)

    # Merged-entity cache in Redis (products with their document and metrics, users with their profile,
    # recommendation lists): TTL per kind, a short one for ids no store knows, and how long a cache call may take
    # before it is bypassed (the answer then comes from the stores).
    entity_cache: bool = True
    cache_namespace: str = Field(default="gw", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    cache_product_ttl_s: float = Field(default=300.0, gt=0)
    cache_user_ttl_s: float = Field(default=300.0, gt=0)
    cache_recommendations_ttl_s: float = Field(default=600.0, gt=0)
    cache_popular_ttl_s: float = Field(default=60.0, gt=0)
    cache_unknown_ttl_s: float = Field(default=30.0, gt=0)
    cache_timeout_s: float = Field(default=0.25, gt=0)
    # Response cache: whole results of persisted queries, at most this long (field hints may shorten it).
    response_cache: bool = True
    response_cache_ttl_s: float = Field(default=60.0, gt=0)
    # In-process caches in front of Redis (docs/hot-path.md): whole responses and APQ documents in memory
    # (memory_cache), and the prepared documents of the engine (always), within memory_cache_bytes together
    # (responses 3/4, prepared documents 3/16, APQ documents 1/16, see memory_shares). A response in memory is
    # served only while this process has heard every invalidation published more than memory_cache_stale_s ago.
    memory_cache: bool = True
    memory_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    memory_cache_stale_s: float = Field(default=1.0, ge=0.05, le=60)

    # Persisted queries (gateway/http/persisted.py). APQ documents live in Redis (gw:apq:<sha256>) for this long
    # after their last use. Manifests (Apollo's or Relay's) are read once at start: the files listed in
    # persisted_manifests (comma-separated, or a JSON list) and every *.json in persisted_dir, where
    # `gateway persisted add` copies a release's manifest. persisted_only refuses every other document.
    persisted_query_ttl_s: int = Field(default=30 * 86_400, ge=60)
    persisted_manifests: Annotated[tuple[Path, ...], NoDecode] = ()
    persisted_dir: Path = ROOT / "deploy" / "persisted"
    persisted_only: bool = False

    # Downloads (the dataset wheel) and builds, shared by every checkout; scripts/lib/common.sh uses the same.
    cache_dir: Path = Path.home() / ".cache" / "polyglot-gateway"

    # GraphiQL on GET /graphql, served from the gateway's own origin (assets installed from npm at setup).
    graphiql: bool = True
    graphiql_assets_dir: Path = ROOT / "deploy" / "graphiql" / "node_modules"

    @field_validator("auth_jwt_secret", "auth_public_key_file", "auth_jwks_file", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("otel_endpoint", mode="before")
    @classmethod
    def _empty_endpoint_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("mysql_replica_urls", mode="before")
    @classmethod
    def _urls_from_text(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("persisted_manifests", mode="before")
    @classmethod
    def _paths_from_text(cls, value: object) -> object:
        """``a.json,b.json`` or ``["a.json", "b.json"]`` (a path holding a comma needs the JSON form)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]

    @model_validator(mode="after")
    def _no_dev_secrets_outside_development(self) -> Settings:
        if self.env != "development":
            for name in ("mysql_password", "neo4j_password"):
                if getattr(self, name).get_secret_value() == DEV_PASSWORD:
                    raise ValueError(f"GATEWAY_{name.upper()} must be set when GATEWAY_ENV={self.env}")
            secret = self.auth_jwt_secret
            if secret is not None and secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError(
                    f"GATEWAY_AUTH_JWT_SECRET must be set (or GATEWAY_AUTH_PUBLIC_KEY_FILE / GATEWAY_AUTH_JWKS_FILE "
                    f"with GATEWAY_AUTH_JWT_SECRET empty) when GATEWAY_ENV={self.env}"
                )
        return self

    @property
    def heartbeat_s(self) -> float:
        """How often each process PINGs its pub/sub connection: four heartbeats per staleness bound."""
        return self.memory_cache_stale_s / 4

    @property
    def mysql_database(self) -> str:
        return urlsplit(self.mysql_url).path.lstrip("/")

    @property
    def redis_db(self) -> int:
        if self.redis_cluster:
            return 0
        path = urlsplit(self.redis_url).path.lstrip("/")
        return int(path) if path else 0


@dataclass(frozen=True, slots=True)
class MemoryShares:
    """``memory_cache_bytes`` split between the in-process caches (bytes each)."""

    responses: int
    documents: int
    persisted: int


def memory_shares(settings: Settings) -> MemoryShares:
    total = settings.memory_cache_bytes
    return MemoryShares(responses=total * 3 // 4, documents=total * 3 // 16, persisted=total // 16)
