"""The ``gateway`` command: serve the API, and the small operations scripts/services and CI rely on."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlsplit

from gateway.config import SOURCE_NAMES, Settings, SourceName
from gateway.errors import SourceAuthFailed, SourceError


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.observability import logs, metrics
    from gateway.persisted import ManifestError, Manifests, manifest_paths

    try:  # the app loads them too: checked here first so a bad manifest is one clear line, not a traceback
        Manifests.load(manifest_paths(settings.persisted_manifests, settings.persisted_dir))
    except ManifestError as exc:
        print(f"gateway serve: invalid persisted manifest: {exc}", file=sys.stderr)
        return 1
    metrics.clear_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR, when set: counters start from zero
    workers = args.workers or settings.workers
    if workers > 1 and args.reload:
        print("gateway serve: --reload runs one process: drop --workers (or GATEWAY_WORKERS)", file=sys.stderr)
        return 2
    uvicorn.run(
        "gateway.asgi:app",  # an import string: each worker process imports the app (and builds its own clients)
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=logs.log_config(settings),  # GATEWAY_LOG_FORMAT, the request id and process on every line
        reload=args.reload,
        proxy_headers=True,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
    )
    return 0


async def _ping(settings: Settings, name: SourceName, wait: float) -> str | None:
    """None once ``name`` answers a real request; the last error if it did not within ``wait`` seconds."""
    from gateway.sources import Sources

    sources = Sources.create(settings)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                await sources.by_name(name).ping()
                return None
            except SourceError as exc:
                if isinstance(exc, SourceAuthFailed) or time.monotonic() >= deadline:
                    return f"{exc}: {exc.detail}"
            await asyncio.sleep(0.5)
    finally:
        await sources.close()


def _ping_command(settings: Settings, args: argparse.Namespace) -> int:
    error = asyncio.run(_ping(settings, args.source, args.wait))
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


async def _warm(settings: Settings, name: SourceName) -> list[tuple[str, float]]:
    """Run the read path's queries against ``name`` once, for keys it holds (any key when it holds none), so that
    a server's first requests after its start do not pay for its JVM's first compiles, Neo4j's query plans and a
    cold page cache: a user page's first recommendations after a Neo4j start took 5 s here, the next 0.3 s.
    Returns each operation with its time in ms."""
    from gateway.sources import Sources, mongo_reads, neo4j_reads, neo4j_recommendations
    from gateway.sources.mongo_schema import PRODUCT_ATTRIBUTES
    from loaders.keys import MAX_TOP

    # On an empty graph (a new checkout) Neo4j warns of every unknown label: nothing to act on here.
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    sources = Sources.create(settings)
    timings: list[tuple[str, float]] = []

    async def timed(operation: str, call: Awaitable[object]) -> None:
        start = time.perf_counter()
        await call
        timings.append((operation, (time.perf_counter() - start) * 1000))

    try:
        if name == "neo4j":
            rows = await neo4j_reads.records(
                sources.neo4j,
                "warm",
                (),
                "MATCH (u:User)-[:PURCHASED|RATED]->(p:Product) RETURN u.id AS user, p.id AS product LIMIT 20",
                {},
            )
            keys = [(row["user"], row["product"]) for row in rows[::10]] or [(0, 0)]
            for user, product in keys:  # twice when it can: the second pass runs what the first compiled
                for strategy in ("graph", "similar_users", "popular"):
                    await timed(
                        f"recommendations_{strategy}",
                        neo4j_recommendations.recommendations(sources.neo4j, [user], limit=MAX_TOP, strategy=strategy),
                    )
                await timed("similar_users", neo4j_reads.similar_users(sources.neo4j, [user], limit=MAX_TOP))
                await timed("bought_together", neo4j_reads.bought_together(sources.neo4j, [product], limit=MAX_TOP))
                await timed("popular_products", neo4j_reads.popular_products(sources.neo4j, limit=MAX_TOP))
        elif name == "mongodb":
            docs = await sources.mongodb.db[PRODUCT_ATTRIBUTES].find({}, {"_id": 1}).limit(20).to_list()
            ids = [doc["_id"] for doc in docs] or [0]
            for _ in range(3):  # the JIT compiles what runs often, not what ran once
                await timed("product_documents", mongo_reads.product_documents(sources.mongodb, ids))
                await timed("metrics", mongo_reads.metrics(sources.mongodb, ids))
                await timed("profiles", mongo_reads.profiles(sources.mongodb, ids))
    finally:
        await sources.close()
    return timings


def _warm_command(settings: Settings, args: argparse.Namespace) -> int:
    try:
        timings = asyncio.run(_warm(settings, args.source))
    except SourceError as exc:
        print(f"{args.source}: warm-up failed: {exc}: {exc.detail}", file=sys.stderr)
        return 1
    print(f"{args.source}: warmed: " + ", ".join(f"{operation} {ms:.0f} ms" for operation, ms in timings))
    return 0


def _neo4j_init_password(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.sources.neo4j import set_initial_password

    try:
        changed = asyncio.run(
            set_initial_password(
                settings.neo4j_url,
                settings.neo4j_user,
                settings.neo4j_password.get_secret_value(),
                wait=args.wait,
            )
        )
    except SourceError as exc:
        print(f"{exc}: {exc.detail}", file=sys.stderr)
        return 1
    print("neo4j: initial password set" if changed else "neo4j: password already set")
    return 0


def service_env(settings: Settings) -> dict[str, str]:
    """What scripts/services needs to start servers that match these settings (one source of truth)."""
    mysql = urlsplit(settings.mysql_url)
    return {
        "MYSQL_PORT": str(mysql.port or 3306),
        "MYSQL_USER": mysql.username or "gateway",
        "MYSQL_PASSWORD": settings.mysql_password.get_secret_value(),
        "MYSQL_DATABASE": settings.mysql_database,
        "MONGO_PORT": str(urlsplit(settings.mongo_url).port or 27017),
        "NEO4J_PORT": str(urlsplit(settings.neo4j_url).port or 7687),
        "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
        "REDIS_PORT": str(urlsplit(settings.redis_url).port or 6379),
    }


def _service_env(settings: Settings, args: argparse.Namespace) -> int:
    for key, value in service_env(settings).items():
        print(f"SVC_{key}={shlex.quote(value)}")
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import migrate

    if args.downgrade:
        migrate.downgrade_mysql(settings, args.downgrade)
        print(f"mysql: downgraded to {args.downgrade}")
        return 0
    migrate.upgrade_mysql(settings, args.revision)
    print(f"mysql: at revision {args.revision} ({migrate.head_revision()} is head)")

    async def others() -> list[str]:
        from gateway.sources import Sources

        sources = Sources.create(settings)
        try:
            return await migrate.ensure_document_and_graph_schema(sources)
        finally:
            await sources.close()

    created = asyncio.run(others())
    print("mongodb, neo4j: " + (", ".join(created) if created else "collections, indexes and constraints present"))
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.datasets import movielens, synthetic
    from gateway.seeding import Seeder
    from gateway.sources import Sources

    if args.dataset == "movielens-100k":
        dataset = movielens.load(movielens.ensure_wheel(settings.cache_dir))
    else:
        dataset = synthetic.generate(orders=args.orders, seed=args.seed)

    async def run() -> int:
        sources = Sources.create(settings)
        try:
            if args.if_empty and await _already_seeded(sources):
                print(f"{args.dataset}: every store already holds data, not seeding (drop --if-empty to top up)")
                return 0
            report = await Seeder(sources, chunk=args.chunk, progress=not args.quiet).seed(dataset)
        finally:
            await sources.close()
        print(report.table())
        for problem in report.problems:
            print(f"bad row: {problem.source}:{problem.line}: {problem.reason}", file=sys.stderr)
        return 1 if report.problems else 0

    return asyncio.run(run())


async def _already_seeded(sources: object) -> bool:
    """Users in MySQL, profiles in MongoDB and User nodes in Neo4j: if one store is empty, seed (idempotently)."""
    from gateway.sources import Sources, mongo_bulk, mysql_bulk, mysql_tables, neo4j_bulk
    from gateway.sources.mongo_schema import USER_PROFILES

    assert isinstance(sources, Sources)
    return (
        await mysql_bulk.count(sources.mysql, mysql_tables.users) > 0
        and len(await mongo_bulk.id_set(sources.mongodb, USER_PROFILES)) > 0
        and len(await neo4j_bulk.key_set(sources.neo4j, "User")) > 0
    )


def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.reconcile import check
    from gateway.repair import RepairRefused, repair
    from gateway.sources import Sources

    async def run() -> int:
        sources = Sources.create(settings)
        try:
            if args.repair:
                try:
                    repaired = await repair(sources)
                except RepairRefused as exc:
                    print(f"gateway reconcile --repair: {exc}", file=sys.stderr)
                    return 1
                print(repaired.text())
                return 1 if repaired.after.drift else 0
            report = await check(sources)
        finally:
            await sources.close()
        print(report.text())
        return 1 if report.drift else 0

    return asyncio.run(run())


def _relay(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.observability import logs
    from gateway.relay import Relay
    from gateway.sources import Sources

    logs.configure(settings)

    async def run() -> int:
        sources = Sources.create(settings)
        relay = Relay(sources, settings)
        try:
            if args.drain:
                report = await relay.drain()
                print(f"applied {len(report.applied)}, delayed {len(report.delayed)}, parked {len(report.parked)}")
                return 1 if report.parked else 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await relay.run_forever(stop)
            return 0
        finally:
            await sources.close()

    return asyncio.run(run())


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


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def _schema_diff(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import schema_diff

    if args.old == args.new == schema_diff.STDIN:
        print("gateway schema-diff: only one of OLD and NEW can be - (stdin)", file=sys.stderr)
        return 2
    try:
        result = schema_diff.diff(
            schema_diff.read_sdl(args.old),
            schema_diff.read_sdl(args.new),
            old_name=schema_diff.label(args.old),
            new_name=schema_diff.label(args.new),
        )
    except schema_diff.SchemaInputError as exc:
        print(f"gateway schema-diff: {exc}", file=sys.stderr)
        return 2
    print(result.json() if args.json else result.text())
    return 1 if result.breaking else 0


def _persisted_add(settings: Settings, args: argparse.Namespace) -> int:
    """Validate a release's manifest (documents parse and validate, sha256 ids match) and copy it into the folder."""
    from gateway.persisted import ManifestError, Manifests, manifest_paths, read_manifest, schema_problems
    from schema import schema

    source: Path = args.file
    if not source.is_file():
        print(f"gateway persisted add: no such file: {source}", file=sys.stderr)
        return 2
    folder = settings.persisted_dir
    target = folder / (source.name if source.suffix == ".json" else source.name + ".json")
    try:
        manifest = read_manifest(source)
        problems = schema_problems(manifest, schema._schema)
        if problems:
            raise ManifestError("operations that do not validate against the schema:\n  " + "\n  ".join(problems))
        others = [read_manifest(path) for path in manifest_paths(settings.persisted_manifests, folder)]
        Manifests.of([m for m in others if m.path.resolve() != target.resolve()] + [manifest])
    except ManifestError as exc:
        print(f"gateway persisted add: {exc}", file=sys.stderr)
        return 1
    if target.exists() and target.resolve() != source.resolve():
        if target.read_bytes() != source.read_bytes():
            print(
                f"gateway persisted add: {target} exists with other content: give this release's manifest a name of"
                " its own (older manifests stay, so the app builds that use them keep working)",
                file=sys.stderr,
            )
            return 2
    elif target.resolve() != source.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    kinds = {kind: sum(1 for op in manifest.operations if op.type == kind) for kind in ("query", "mutation")}
    print(
        f"{target}: {len(manifest.operations)} operations ({kinds['query']} queries, {kinds['mutation']} mutations),"
        f" {manifest.format} format"
    )
    return 0


def _persisted_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.persisted import ManifestError, Manifests, manifest_paths

    paths = manifest_paths(settings.persisted_manifests, settings.persisted_dir)
    try:
        manifests = Manifests.load(paths)
    except ManifestError as exc:
        print(f"gateway persisted list: {exc}", file=sys.stderr)
        return 1
    rows = [("MANIFEST", "ID", "NAME", "TYPE")]
    rows += [(op.manifest, op.id, op.name or "(anonymous)", op.type) for op in manifests.operations()]
    if len(rows) == 1:
        print(f"no persisted operations (GATEWAY_PERSISTED_MANIFESTS is empty, no *.json in {settings.persisted_dir})")
        return 0
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve GraphQL (and GraphiQL) over HTTP")
    serve.add_argument("--host", help="default: GATEWAY_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: GATEWAY_PORT (8000)")
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.add_argument(
        "--workers", type=int, choices=range(1, 65), metavar="N", help="worker processes, 1 to 64 (GATEWAY_WORKERS)"
    )
    serve.set_defaults(run=_serve)

    ping = commands.add_parser("ping", help="wait until one store answers a real request")
    ping.add_argument("source", choices=SOURCE_NAMES)
    ping.add_argument("--wait", type=float, default=0.0, help="keep trying for this many seconds")
    ping.set_defaults(run=_ping_command)

    warm = commands.add_parser("warm", help="run the read path's queries once against a store that just started")
    warm.add_argument("source", choices=["neo4j", "mongodb"])
    warm.set_defaults(run=_warm_command, batch=True)

    init = commands.add_parser("neo4j-init-password", help="set Neo4j's first password from the settings")
    init.add_argument("--wait", type=float, default=0.0, help="wait this many seconds for Bolt to answer")
    init.set_defaults(run=_neo4j_init_password)

    env = commands.add_parser("service-env", help="print the ports and credentials scripts/services uses")
    env.set_defaults(run=_service_env)

    mig = commands.add_parser("migrate", help="bring every store's schema up to date (MySQL via Alembic)")
    mig.add_argument("--revision", default="head", help="MySQL revision to upgrade to (default: head)")
    mig.add_argument("--downgrade", metavar="REVISION", help="downgrade MySQL to REVISION (e.g. base) instead")
    mig.set_defaults(run=_migrate, batch=True)

    seed = commands.add_parser("seed", help="load a dataset into every store (idempotent, batched)")
    seed.add_argument("--dataset", choices=["movielens-100k", "synthetic"], default="movielens-100k")
    seed.add_argument("--orders", type=int, default=10_000, help="synthetic: number of orders (up to 1,000,000)")
    seed.add_argument("--seed", type=int, default=42, help="synthetic: RNG seed")
    seed.add_argument("--chunk", type=int, default=5000, help="rows per batch")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when every store already holds data")
    seed.add_argument("--quiet", action="store_true", help="no progress bars")
    seed.set_defaults(run=_seed, batch=True)

    rec = commands.add_parser("reconcile", help="compare key sets and counts across stores (MySQL is the truth)")
    mode = rec.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="read-only: print drift, exit 1 on drift")
    mode.add_argument(
        "--repair", action="store_true", help="mend drift from MySQL, check again; exit 1 if drift remains"
    )
    rec.set_defaults(run=_reconcile, batch=True)

    relay = commands.add_parser("relay", help="apply outbox events to Neo4j and MongoDB until stopped")
    relay.add_argument("--drain", action="store_true", help="apply what is due, print a summary and exit")
    relay.set_defaults(run=_relay)

    token = commands.add_parser("token", help="mint a signed token for development and tests (HS256)")
    token.add_argument("--user", type=int, required=True, help="the user id (the token's sub)")
    token.add_argument("--role", action="append", default=[], help="a role, e.g. admin (repeatable)")
    token.add_argument("--ttl", type=_ttl, default=3600, help="lifetime: 90s, 15m, 1h (default), 7d")
    token.set_defaults(run=_token)

    persisted = commands.add_parser("persisted", help="persisted-operation manifests: add a release's, list them")
    persisted_commands = persisted.add_subparsers(dest="persisted_command", required=True)
    add = persisted_commands.add_parser("add", help="validate a manifest and copy it into GATEWAY_PERSISTED_DIR")
    add.add_argument("file", metavar="FILE", type=Path, help="Apollo's manifest, or a JSON id → document map")
    add.set_defaults(run=_persisted_add)
    listing = persisted_commands.add_parser("list", help="every operation loaded at start: manifest, id, name, type")
    listing.set_defaults(run=_persisted_list)

    export = commands.add_parser("export-schema", help="print the schema as SDL")
    export.set_defaults(run=_export_schema, needs_settings=False)

    sdiff = commands.add_parser("schema-diff", help="breaking (exit 1) and dangerous changes from schema OLD to NEW")
    sdiff.add_argument("old", metavar="OLD", help="SDL file, - for stdin, or code (the schema the code builds now)")
    sdiff.add_argument("new", metavar="NEW", help="SDL file, - for stdin, or code")
    sdiff.add_argument("--json", action="store_true", help='print {"breaking": [...], "dangerous": [...]} instead')
    sdiff.set_defaults(run=_schema_diff, needs_settings=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Commands that touch no store run without settings, so CI can diff schemas with no GATEWAY_* secret set.
    settings = Settings() if getattr(args, "needs_settings", True) else Settings.model_construct()
    if getattr(args, "batch", False):  # bulk work: its store calls get the batch bound, not a request's
        settings = settings.model_copy(update={"source_timeout_s": settings.batch_timeout_s})
    status: int = args.run(settings, args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
