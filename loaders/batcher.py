"""A per-request batch loader: the keys asked for in one turn of the event loop go to the store in ONE call.

It does what a DataLoader does (one batch per loop turn, every key fetched once per request, results aligned to
the keys, a failed batch failing each of its keys) with one future per *call* instead of one per key, so that
the plan executor (``engine/``) can ask for 400 products at once at the cost of one dict lookup per key:

    values = await products.get_many(ids)   # aligned to ids: a record, None, or the exception that kept it
    record = await products.load(7)         # resolvers: the record or None; raises the exception

Keys asked for while their batch is on its way wait for that batch (no second round trip); keys already known
are answered from the request's memo. With ``batching`` off every key is a call of its own and nothing is
remembered: the naive one-query-per-item resolution that benchmarks and explain compare against.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from gateway.observability.metrics import observe_batch

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Sequence[V | BaseException]]]


class Batcher(Generic[K, V]):
    __slots__ = ("_fetch", "_gathering", "_max", "_memo", "_on_keys", "_queue", "_waiting", "batching", "name")

    def __init__(
        self,
        fetch: Fetch[K, V],
        *,
        name: str,
        max_batch_size: int = 1000,
        batching: bool = True,
        on_keys: Callable[[list[K]], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self.name = name
        self._max = max_batch_size
        self.batching = batching
        self._on_keys = on_keys  # told every key sent to the store (the response cache's tags)
        self._memo: dict[K, V | BaseException] = {}
        self._waiting: dict[K, asyncio.Future[None]] = {}  # key → the batch on its way for it
        self._queue: list[K] = []  # keys gathered in this loop turn
        self._gathering: asyncio.Future[None] | None = None  # the batch they will go in

    # ---------------------------------------------------------------- the list API (plan executor)

    async def get_many(self, keys: Sequence[K]) -> list[V | BaseException]:
        """One value per key, in order: what the batch answered, None for a miss, or the exception that kept it."""
        if not self.batching:
            return list(await asyncio.gather(*(self._one(key) for key in keys)))
        memo = self._memo
        pending = self._enqueue(keys)
        for future in pending:
            if not future.done():
                # Shielded: the batch is shared, and a caller cancelled while it waits (graphql-core cancels the
                # rest of a subtree a null went up through) would otherwise cancel it for every other caller.
                await asyncio.shield(future)
        return [memo.get(key, _LOST) for key in keys]

    def known(self, key: K) -> bool:
        return key in self._memo

    def peek(self, key: K) -> V | BaseException:
        """The value this request already has for ``key`` (``known`` first)."""
        return self._memo[key]

    def _enqueue(self, keys: Iterable[K]) -> list[asyncio.Future[None]]:
        memo, waiting = self._memo, self._waiting
        pending: list[asyncio.Future[None]] = []
        for key in keys:
            if key in memo:
                continue
            future = waiting.get(key)
            if future is None:
                future = self._gathering
                if future is None:
                    loop = asyncio.get_running_loop()
                    future = self._gathering = loop.create_future()
                    loop.call_soon(self._dispatch)
                waiting[key] = future
                self._queue.append(key)
            if not pending or pending[-1] is not future:
                pending.append(future)
        return pending

    def _dispatch(self) -> None:
        """Start the batch task; it takes its keys when it starts, so keys asked for until then join it."""
        task = asyncio.ensure_future(self._run())
        _running.add(task)  # referenced until it ends (the loop keeps only weak references to tasks)
        task.add_done_callback(_running.discard)

    async def _run(self) -> None:
        keys, future = self._queue, self._gathering
        self._queue, self._gathering = [], None
        if future is None:
            return
        chunks = [keys[i : i + self._max] for i in range(0, len(keys), self._max)]
        try:
            answers = await asyncio.gather(*(self._call(chunk) for chunk in chunks))
            for chunk, values in zip(chunks, answers, strict=True):
                self._memo.update(zip(chunk, values, strict=True))
        finally:
            for key in keys:
                self._waiting.pop(key, None)
            if not future.done():
                future.set_result(None)

    async def _call(self, keys: list[K]) -> Sequence[V | BaseException]:
        if self._on_keys is not None:
            self._on_keys(keys)
        observe_batch(self.name, len(keys))
        try:
            values = await self._fetch(keys)
        except Exception as exc:  # a failed batch is that failure for each of its keys
            return [exc] * len(keys)
        if len(values) != len(keys):
            wrong = RuntimeError(f"batch {self.name} answered {len(values)} values for {len(keys)} keys")
            return [wrong] * len(keys)
        return values

    async def _one(self, key: K) -> V | BaseException:
        (value,) = await self._call([key])
        return value

    # ---------------------------------------------------------------- the DataLoader API (resolvers)

    async def load(self, key: K) -> V:
        (value,) = await self.get_many((key,))
        if isinstance(value, BaseException):
            raise value
        return value

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        values = await self.get_many(keys)
        for value in values:
            if isinstance(value, BaseException):
                raise value
        return values  # type: ignore[return-value]  # none is an exception: checked above

    def prime(self, key: K, value: V) -> None:
        if self.batching:
            self._memo.setdefault(key, value)

    def prime_many(self, values: Mapping[K, V]) -> None:
        if self.batching:
            for key, value in values.items():
                self._memo.setdefault(key, value)

    def clear(self, key: K) -> None:
        """Forget ``key`` (a mutation changed it): the next ask fetches it again."""
        self._memo.pop(key, None)


_running: set[asyncio.Future[None]] = set()

# A key whose batch never delivered (its task was cancelled at shutdown): an unexpected error, masked.
_LOST = RuntimeError("a batch was cancelled before it answered")
