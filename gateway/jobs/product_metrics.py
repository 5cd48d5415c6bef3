"""Product metrics as MongoDB holds them, computed from MySQL (the source of truth): used by the relay after each
event and by reconcile's repair, so both write exactly the same documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from gateway.stores.mongo.client import Document
from gateway.stores.mongo.documents import ProductMetrics, parse
from gateway.stores.mysql import reads as mysql_reads
from gateway.stores.mysql.client import MySQLSource


async def metrics_documents(mysql: MySQLSource, product_ids: Sequence[int]) -> list[Document]:
    inputs = await mysql_reads.metric_inputs(mysql, sorted(set(product_ids)))
    moment = datetime.now(UTC)
    return [
        parse(
            ProductMetrics,
            {
                "_id": pid,
                "rating_avg": avg,
                "rating_count": count,
                "rating_std": std,
                "popularity": units,
                "updated_at": moment,
            },
        ).to_mongo()
        for pid, (avg, count, std, units) in inputs.items()
    ]
