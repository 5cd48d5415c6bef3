"""MongoDB's read preference, read concern and the relay's write concern come from the settings and reach the
driver: they are on the client, and on the commands the server receives (PyMongo's command monitoring). The reads
and the relay's writes still work with them against the local server."""

from __future__ import annotations

from typing import Any

from pymongo import monitoring

from gateway.config import Settings
from gateway.stores.mongo import projection, reads
from gateway.stores.mongo.client import MongoSource
from gateway.stores.mongo.schema import PRODUCT_ATTRIBUTES, USER_PROFILES
from tests.conftest import make_test_settings

USER_ID = 990_001  # no seeded user has it


class Seen(monitoring.CommandListener):
    """Commands sent while ``on`` (registered once per process: PyMongo has no unregister)."""

    def __init__(self) -> None:
        self.on = False
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on and event.command_name in {"find", "update", "insert", "delete"}:
            self.commands.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


SEEN = Seen()
monitoring.register(SEEN)


def test_the_defaults_are_the_primary_and_majority() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.mongo_read_preference == "primary"
    assert settings.mongo_read_concern == "local"
    assert settings.mongo_write_concern == "majority"
    assert settings.mongo_write_journal is True


async def test_options_reach_the_driver_and_the_server() -> None:
    settings = make_test_settings(
        mongo_read_preference="secondaryPreferred",
        mongo_read_concern="majority",
        mongo_write_concern="1",
        mongo_write_journal=False,
    )
    source = MongoSource(settings)
    try:
        assert source.client.read_preference.mongos_mode == "secondaryPreferred"
        assert source.db.read_concern.level == "majority"
        assert source.primary.read_preference.mongos_mode == "primary"
        assert source.relay.write_concern.document == {"w": 1, "j": False}

        SEEN.on, SEEN.commands = True, []
        await projection.ensure_profile(source, 5.0, {"_id": USER_ID, "preferences": {"genres": ["Drama"]}})
        found = await reads.profiles(source, [USER_ID])
        await reads.product_documents(source, [1])
        SEEN.on = False
        assert found[0] is not None
        assert found[0].preferences == {"genres": ["Drama"]}
        update = next(c for c in SEEN.commands if "update" in c)
        assert update["update"] == USER_PROFILES
        assert update["writeConcern"] == {"w": 1, "j": False}
        finds = [c for c in SEEN.commands if "find" in c]
        assert {c["find"] for c in finds} == {USER_PROFILES, PRODUCT_ATTRIBUTES}
        assert all(c["readConcern"] == {"level": "majority"} for c in finds)
    finally:
        SEEN.on = False
        await source.db[USER_PROFILES].delete_one({"_id": USER_ID})
        await source.close()


async def test_the_relay_writes_with_majority_by_default(settings: Settings) -> None:
    source = MongoSource(settings)
    try:
        assert source.relay.write_concern.document == {"w": "majority", "j": True}
        SEEN.on, SEEN.commands = True, []
        await projection.ensure_profile(source, 5.0, {"_id": USER_ID, "preferences": {}})
        SEEN.on = False
        assert SEEN.commands[0]["writeConcern"] == {"w": "majority", "j": True}
        assert (await reads.profiles(source, [USER_ID]))[0] is not None
    finally:
        SEEN.on = False
        await source.db[USER_PROFILES].delete_one({"_id": USER_ID})
        await source.close()
