"""MongoDB (mongo-java-server locally), through PyMongo's AsyncMongoClient: the only module that imports pymongo."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, ReadPreference, WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern

from gateway.config import Settings
from gateway.stores import breaker
from gateway.stores.guard import PoolUse, ServerInfo, guarded

DRIVER_ERRORS: tuple[type[BaseException], ...] = (PyMongoError,)

Document = dict[str, Any]


class MongoSource:
    name = "mongodb"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.source_timeout_s
        self.breaker = breaker.for_store(self.name, breaker.endpoint_of(settings.mongo_url))
        timeout_ms = int(settings.source_timeout_s * 1000)
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            settings.mongo_url,
            # A stopped server leaves nothing to select: said before guarded()'s bound, as SOURCE_UNAVAILABLE
            # (PyMongo waits the whole selection timeout even when the server refuses connections). Half the bound:
            # on a loaded machine three quarters left too little margin and the answer came as TIMEOUT.
            serverSelectionTimeoutMS=timeout_ms // 2,
            # Past guarded()'s bound too: PyMongo's monitor times its checks out by it, and against a server without
            # the streaming hello (the local one) a check that times out interrupts the calls in flight, which then
            # came back SOURCE_UNAVAILABLE instead of the TIMEOUT a hung server's calls get (guarded() bounds
            # connecting anyway).
            connectTimeoutMS=timeout_ms + 1000,
            # A hung server: guarded()'s bound answers first (TIMEOUT) and cancels the call; this is a backstop.
            socketTimeoutMS=timeout_ms + 1000,
            appname="polyglot-gateway",
            readPreference=settings.mongo_read_preference,
            readConcernLevel=settings.mongo_read_concern,
        )
        # The read path: the configured read preference and read concern (a secondary may answer).
        self.db: AsyncDatabase[Document] = self.client[settings.mongo_database]
        # What mutations write to MongoDB (product attributes, the registry, profiles): read from the primary, so a
        # writer reads it back.
        self.primary: AsyncDatabase[Document] = self.db.with_options(read_preference=ReadPreference.PRIMARY)
        # The relay's writes: acknowledged by the configured write concern.
        w: int | str = int(settings.mongo_write_concern) if settings.mongo_write_concern.isdigit() else "majority"
        self.relay: AsyncDatabase[Document] = self.db.with_options(
            write_concern=WriteConcern(w=w, j=settings.mongo_write_journal),
            read_concern=ReadConcern(settings.mongo_read_concern),
        )

        from gateway.stores.mongo.recorder import EventRecorder  # it writes through this client

        self.events = EventRecorder(self, settings)

    async def ping(self) -> None:
        await guarded(self, self.timeout, self.client.admin.command("ping"), DRIVER_ERRORS)

    async def server_info(self) -> ServerInfo:
        info = await guarded(self, self.timeout, self.client.admin.command("buildInfo"), DRIVER_ERRORS)
        if "ferretdbVersion" in info:
            return ServerInfo(self.name, "FerretDB", str(info["ferretdbVersion"]).removeprefix("v"))
        if str(info.get("localServer", "")).startswith("mongo-java-server "):  # our launcher (deploy/mongodb)
            return ServerInfo(self.name, "mongo-java-server", str(info["localServer"]).split()[1])
        return ServerInfo(self.name, "MongoDB", str(info.get("version", "unknown")))

    def pool(self) -> PoolUse:
        return PoolUse(int(self.client.options.pool_options.max_pool_size))  # PyMongo publishes no use

    async def close(self) -> None:
        await self.events.close()  # what is buffered is written first (bounded by the timeout)
        await self.client.close()
