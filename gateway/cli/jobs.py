"""The commands that run gateway/jobs/: ``gateway migrate``, ``seed``, ``reconcile`` and ``relay``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable

from gateway.config import Settings


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs import migrate

    if args.downgrade:
        migrate.downgrade_mysql(settings, args.downgrade)
        print(f"mysql: downgraded to {args.downgrade}")
        return 0
    migrate.upgrade_mysql(settings, args.revision)
    print(f"mysql: at revision {args.revision} ({migrate.head_revision()} is head)")

    async def others() -> list[str]:
        from gateway.stores import Sources

        sources = Sources.create(settings)
        try:
            return await migrate.ensure_document_and_graph_schema(sources)
        finally:
            await sources.close()

    created = asyncio.run(others())
    print("mongodb, neo4j: " + (", ".join(created) if created else "collections, indexes and constraints present"))
    return 0


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.datasets import movielens, synthetic
    from gateway.jobs.seeding import Seeder
    from gateway.stores import Sources

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
            if args.with_events and not report.problems:
                from gateway.jobs.seed_events import seed_events

                print(f"events: {await seed_events(sources, dataset, args.chunk):,} (views, cart adds, purchases)")
        finally:
            await sources.close()
        print(report.table())
        for problem in report.problems:
            print(f"bad row: {problem.source}:{problem.line}: {problem.reason}", file=sys.stderr)
        return 1 if report.problems else 0

    return asyncio.run(run())


async def _already_seeded(sources: object) -> bool:
    """Users in MySQL, profiles in MongoDB and User nodes in Neo4j: if one store is empty, seed (idempotently)."""
    from gateway.stores import Sources
    from gateway.stores.mongo import bulk as mongo_bulk
    from gateway.stores.mongo.schema import USER_PROFILES
    from gateway.stores.mysql import bulk as mysql_bulk
    from gateway.stores.mysql import tables as mysql_tables
    from gateway.stores.neo4j import bulk as neo4j_bulk

    assert isinstance(sources, Sources)
    return (
        await mysql_bulk.count(sources.mysql, mysql_tables.users) > 0
        and len(await mongo_bulk.id_set(sources.mongodb, USER_PROFILES)) > 0
        and len(await neo4j_bulk.key_set(sources.neo4j, "User")) > 0
    )


def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.jobs.reconcile import check
    from gateway.jobs.repair import RepairRefused, repair
    from gateway.stores import Sources

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
    from gateway.jobs.relay import Relay
    from gateway.observability import logs
    from gateway.stores import Sources

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


def register(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add this group's commands to ``gateway`` with ``add_parser`` (that of its subcommands)."""
    mig = add_parser("migrate", help="bring every store's schema up to date (MySQL via Alembic)")
    mig.add_argument("--revision", default="head", help="MySQL revision to upgrade to (default: head)")
    mig.add_argument("--downgrade", metavar="REVISION", help="downgrade MySQL to REVISION (e.g. base) instead")
    mig.set_defaults(run=_migrate, batch=True)

    seed = add_parser("seed", help="load a dataset into every store (idempotent, batched)")
    seed.add_argument("--dataset", choices=["movielens-100k", "synthetic"], default="movielens-100k")
    seed.add_argument("--orders", type=int, default=10_000, help="synthetic: number of orders (up to 1,000,000)")
    seed.add_argument("--seed", type=int, default=42, help="synthetic: RNG seed")
    seed.add_argument("--chunk", type=int, default=5000, help="rows per batch")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when every store already holds data")
    seed.add_argument("--quiet", action="store_true", help="no progress bars")
    seed.add_argument(
        "--with-events", action="store_true", help="also the events behind the orders: a view and a cart add each"
    )
    seed.set_defaults(run=_seed, batch=True)

    rec = add_parser("reconcile", help="compare key sets and counts across stores (MySQL is the truth)")
    mode = rec.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="read-only: print drift, exit 1 on drift")
    mode.add_argument(
        "--repair", action="store_true", help="mend drift from MySQL, check again; exit 1 if drift remains"
    )
    rec.set_defaults(run=_reconcile, batch=True)

    relay = add_parser("relay", help="apply outbox events to Neo4j and MongoDB until stopped")
    relay.add_argument("--drain", action="store_true", help="apply what is due, print a summary and exit")
    relay.set_defaults(run=_relay)
