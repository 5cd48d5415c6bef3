"""Which MySQL server a GraphQL operation reads (docs/scaling.md, "MySQL read replicas").

With ``GATEWAY_MYSQL_REPLICA_URLS`` set, the reads of a Query operation go to a replica, except the reads of a
viewer who wrote recently. Read-your-writes: every mutation marks its viewer (a signed-in user by id, a guest by
session) before its answer is sent, in this process (a deadline in memory) and in Redis (a key with a TTL,
gateway/stores/redis/sticky.py), for ``GATEWAY_MYSQL_REPLICA_STICKY_S``. A query of a marked viewer, in any
process, reads the primary; a query whose viewer's mark cannot be read (Redis down or slower than the caches'
budget) reads the primary too. So a viewer reads their own writes as long as every replica applies a write within
the sticky window after the mutation returned. A query with neither user nor session reads a replica always.

Everything else reads the primary: mutations (their reads and the reads of their answers), subscriptions, the
relay, seed, reconcile and migrate never enter ``replica_reads(True)`` (gateway/stores/mysql/client.py).
"""

from __future__ import annotations

import logging
import time

from gateway.config import Settings
from gateway.context import Context
from gateway.errors import SourceError
from gateway.stores.redis import sticky

log = logging.getLogger("gateway.replicas")

_MARKS_KEPT = 10_000  # per process; past it, marks that expired are dropped


class ReadRouting:
    """One per process (the engine's): the viewers this process saw write, and the policy above."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = bool(settings.mysql_replica_urls)
        self.sticky_s = settings.mysql_replica_sticky_s
        self.namespace = f"{settings.cache_namespace}:{settings.mysql_database}"
        self._marks: dict[str, float] = {}  # who → monotonic deadline

    @staticmethod
    def who(context: Context) -> str | None:
        if context.viewer is not None:
            return f"user:{context.viewer.user_id}"
        if context.session_id:
            return f"session:{context.session_id}"
        return None

    async def wrote(self, context: Context) -> None:
        """A mutation of this viewer ran: mark them, here and in Redis, before the answer goes out."""
        who = self.who(context)
        if not self.enabled or who is None:
            return
        now = time.monotonic()
        if len(self._marks) >= _MARKS_KEPT:
            self._marks = {k: deadline for k, deadline in self._marks.items() if deadline > now}
        self._marks[who] = now + self.sticky_s
        try:
            await sticky.mark(context.sources.redis, self.namespace, who, round(self.sticky_s * 1000))
        except SourceError as exc:  # this process still knows; another may read a replica for this window
            log.warning("could not mark %s as a recent writer in Redis: %s", who, exc)

    async def replica_allowed(self, context: Context) -> bool:
        """Whether this query's reads may go to a replica."""
        if not self.enabled:
            return False
        who = self.who(context)
        if who is None:
            return True
        deadline = self._marks.get(who)
        if deadline is not None and deadline > time.monotonic():
            return False
        try:
            return not await sticky.marked(context.sources.redis, self.namespace, who)
        except SourceError:
            return False
