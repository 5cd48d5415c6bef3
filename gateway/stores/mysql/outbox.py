"""The outbox: the row every write adds in its own transaction (``outbox_row``), and, as the relay uses it, claim
a batch with a lease, then mark each event done, retried or parked.

A claim is one short transaction (``SELECT ... FOR UPDATE SKIP LOCKED`` then an UPDATE of the lease), so no
row lock is held while Neo4j or MongoDB is called. Only the oldest pending event of each aggregate is
claimable: events of one aggregate are applied in order, whichever relay takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.stores.mysql import tables as t
from gateway.stores.mysql.client import MySQLSource
from gateway.stores.mysql.transactions import now, transaction

o = t.outbox


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: Any
    attempts: int


def outbox_row(event_type: str, aggregate_type: str, aggregate_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "aggregate_type": aggregate_type,
        "aggregate_id": str(aggregate_id),
        "payload": payload,
    }


def _pending(at: datetime) -> list[Any]:
    return [o.c.processed_at.is_(None), o.c.parked_at.is_(None), o.c.available_at <= at]


async def claim(source: MySQLSource, timeout: float, *, relay: str, limit: int, lease_s: float) -> list[OutboxEvent]:
    async def work(conn: AsyncConnection) -> list[OutboxEvent]:
        at = now()
        earlier = o.alias("earlier")
        blocked = exists().where(
            earlier.c.aggregate_type == o.c.aggregate_type,
            earlier.c.aggregate_id == o.c.aggregate_id,
            earlier.c.id < o.c.id,
            earlier.c.processed_at.is_(None),
            earlier.c.parked_at.is_(None),
        )
        free = (o.c.claimed_until.is_(None)) | (o.c.claimed_until < at)
        # A plain read picks candidates; locking reads then lock them a chunk at a time, by primary key, skipping
        # what another relay holds. (A locking read locks every row it reads, sorted or not: locking the whole
        # candidate scan would leave a second relay nothing to take until the first commits.)
        candidates = (
            (await conn.execute(select(o.c.id).where(*_pending(at), free, ~blocked).order_by(o.c.id).limit(4 * limit)))
            .scalars()
            .all()
        )
        rows: list[Any] = []
        for start in range(0, len(candidates), limit):
            chunk = candidates[start : start + limit - len(rows)]
            statement = (
                select(o.c.id, o.c.event_type, o.c.aggregate_type, o.c.aggregate_id, o.c.payload, o.c.attempts)
                .where(o.c.id.in_(chunk), *_pending(at), free)
                .with_for_update(skip_locked=True)
            )
            rows += (await conn.execute(statement)).all()
            if len(rows) >= limit:
                break
        rows.sort(key=lambda row: row.id)
        if rows:
            await conn.execute(
                update(o)
                .where(o.c.id.in_([row.id for row in rows]))
                .values(claimed_until=at + timedelta(seconds=lease_s), claimed_by=relay)
            )
        return [OutboxEvent(*row) for row in rows]

    return await transaction(source, timeout, "outbox_claim", (), work)


async def mark_done(source: MySQLSource, timeout: float, *, relay: str, ids: Sequence[int]) -> int:
    """Mark applied events processed; only those this relay still holds (returns how many)."""

    async def work(conn: AsyncConnection) -> int:
        result = await conn.execute(
            update(o)
            .where(o.c.id.in_(ids), o.c.claimed_by == relay, o.c.processed_at.is_(None))
            .values(processed_at=now(), claimed_until=None)
        )
        return int(result.rowcount)

    return await transaction(source, timeout, "outbox_done", ids, work) if ids else 0


async def retry(
    source: MySQLSource,
    timeout: float,
    *,
    relay: str,
    event: OutboxEvent,
    delay_s: float,
    error: str,
    counts: bool,
    max_attempts: int,
) -> bool:
    """Put an event back for later; ``counts``: a failure of its own (bad payload), which parks it at the limit.

    Returns True when the event is now parked."""

    async def work(conn: AsyncConnection) -> bool:
        attempts = event.attempts + (1 if counts else 0)
        parked = counts and attempts >= max_attempts
        await conn.execute(
            update(o)
            .where(o.c.id == event.id, o.c.claimed_by == relay)
            .values(
                attempts=attempts,
                last_error=error[:2000],
                available_at=now() + timedelta(seconds=delay_s),
                claimed_until=None,
                parked_at=now() if parked else None,
            )
        )
        return parked

    return await transaction(source, timeout, "outbox_retry", [event.id], work)


@dataclass(frozen=True, slots=True)
class Lag:
    pending: int
    oldest_age_s: float
    parked: int


async def lag(source: MySQLSource, timeout: float) -> Lag:
    async def work(conn: AsyncConnection) -> Lag:
        at = now()
        pending = (
            await conn.execute(
                select(func.count(), func.min(o.c.created_at)).where(
                    o.c.processed_at.is_(None), o.c.parked_at.is_(None)
                )
            )
        ).one()
        parked = (await conn.execute(select(func.count()).where(and_(o.c.parked_at.is_not(None))))).scalar_one()
        oldest = (at - pending[1]).total_seconds() if pending[1] is not None else 0.0
        return Lag(int(pending[0]), max(oldest, 0.0), int(parked))

    return await transaction(source, timeout, "outbox_lag", (), work)


@dataclass(frozen=True, slots=True)
class ParkedEvent:
    id: int
    event_type: str
    aggregate_type: str
    aggregate_id: str
    attempts: int
    error: str | None
    parked_at: datetime


async def parked_events(source: MySQLSource, timeout: float, limit: int) -> list[ParkedEvent]:
    """The newest ``limit`` parked events, with the error that parked them."""

    async def work(conn: AsyncConnection) -> list[ParkedEvent]:
        rows = await conn.execute(
            select(
                o.c.id,
                o.c.event_type,
                o.c.aggregate_type,
                o.c.aggregate_id,
                o.c.attempts,
                o.c.last_error,
                o.c.parked_at,
            )
            .where(o.c.parked_at.is_not(None))
            .order_by(o.c.id.desc())
            .limit(limit)
        )
        return [ParkedEvent(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in rows]

    return await transaction(source, timeout, "outbox_parked", (), work)
