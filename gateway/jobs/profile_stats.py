"""A profile's rating statistics as MongoDB holds them, computed from MySQL (the source of truth): the relay writes
them for every user whose ratings an event changed, so ``profile.stats`` follows the ratings within the outbox lag.
The same figures seeding writes (gateway/jobs/datasets/movielens.py): ``ratings`` and ``rating_avg`` (3 places)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.stores.mysql import reads as mysql_reads
from gateway.stores.mysql.client import MySQLSource

Stats = dict[str, int | float | None]  # None: the field goes (a user without ratings has no average)


async def rating_stats(mysql: MySQLSource, user_ids: Sequence[int]) -> dict[int, Stats]:
    inputs = await mysql_reads.user_rating_inputs(mysql, sorted(set(user_ids)))
    return {
        user_id: {"ratings": count, "rating_avg": round(stars / count, 3) if count else None}
        for user_id, (count, stars) in inputs.items()
    }
