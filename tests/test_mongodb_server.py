"""The local MongoDB server (mongo-java-server behind deploy/mongodb's launcher, started by scripts/services) keeps
what it acknowledged: through a kill -9 (the launcher commits its MVStore before a write's answer) and through a
normal restart. Each test runs a server of its own (its own services folder and port), never the suite's."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from tests.serving import free_port

SERVICES = str(Path(__file__).resolve().parents[1] / "scripts" / "services")

pytestmark = pytest.mark.skipif(
    os.environ.get("GATEWAY_MONGO_SERVER", "mongo-java-server") != "mongo-java-server",
    reason="these promises are the launcher's (deploy/mongodb)",
)


class OwnServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.env = {
            **os.environ,
            "GATEWAY_SERVICES_DIR": str(folder),
            "GATEWAY_MONGO_URL": f"mongodb://127.0.0.1:{self.port}/",
        }

    def services(self, *args: str) -> str:
        done = subprocess.run([SERVICES, *args], capture_output=True, text=True, timeout=180, check=False, env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    @property
    def pid(self) -> int:
        return int((self.folder / "run" / "mongodb.pid").read_text())

    def client(self) -> AsyncMongoClient[dict[str, object]]:
        return AsyncMongoClient(f"mongodb://127.0.0.1:{self.port}/", serverSelectionTimeoutMS=5000)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OwnServer]:
    own = OwnServer(tmp_path)
    own.services("start", "mongodb")
    yield own
    own.services("stop", "mongodb")


def killed(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
        assert time.monotonic() < deadline, f"pid {pid} outlived SIGKILL"
        time.sleep(0.02)


def _state(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("State:"):
                return line.split()[1]
    except FileNotFoundError:
        pass
    return "?"


@pytest.mark.services
async def test_acknowledged_writes_survive_kill_9(server: OwnServer) -> None:
    client = server.client()
    coll = client.durability.things
    try:
        await coll.insert_many([{"_id": i, "v": "x" * 200} for i in range(1000)])
        # 100 concurrent upserts of new ids, an update and a delete of old ones: every kind the gateway sends
        await asyncio.gather(*(coll.update_one({"_id": 5000 + i}, {"$set": {"u": i}}, upsert=True) for i in range(100)))
        await coll.update_one({"_id": 7}, {"$set": {"v": "changed"}})
        await coll.delete_one({"_id": 8})
        await client.durability.people.create_index("email", unique=True)
        await client.durability.people.insert_one({"_id": 1, "email": "a@example.org"})
    finally:
        await client.close()
    killed(server.pid)  # at once: nothing has had time to reach the disk on a timer

    server.services("start", "mongodb")
    client = server.client()
    coll = client.durability.things
    try:
        assert await coll.count_documents({}) == 1000 - 1 + 100
        assert await coll.count_documents({"u": {"$exists": True}}) == 100
        assert (await coll.find_one({"_id": 7}) or {}).get("v") == "changed"
        assert await coll.find_one({"_id": 8}) is None
        with pytest.raises(DuplicateKeyError):  # the unique index came back with its entries
            await client.durability.people.insert_one({"_id": 2, "email": "a@example.org"})
    finally:
        await client.close()


@pytest.mark.services
async def test_data_and_indexes_survive_a_restart(server: OwnServer) -> None:
    client = server.client()
    coll = client.durability.kept
    await coll.insert_many([{"_id": i, "sku": f"s{i}"} for i in range(500)])
    await coll.create_index("sku", unique=True)
    await client.close()
    out = server.services("restart", "mongodb")
    assert "mongodb: stopped" in out
    assert "mongodb: up" in out

    client = server.client()
    coll = client.durability.kept
    try:
        assert await coll.count_documents({}) == 500
        assert [d["_id"] async for d in coll.find({"_id": {"$in": [3, 499, 600]}}).sort("_id")] == [3, 499]
        assert "sku_1" in await coll.index_information()
        with pytest.raises(DuplicateKeyError):
            await coll.insert_one({"_id": 1000, "sku": "s3"})
    finally:
        await client.close()


@pytest.mark.services
async def test_the_launcher_reports_a_wire_version_pymongo_accepts(server: OwnServer) -> None:
    client = server.client()
    try:
        hello = await client.admin.command("isMaster")
        info = await client.admin.command("buildInfo")
    finally:
        await client.close()
    assert hello["maxWireVersion"] == 13  # MongoDB 5.0; PyMongo >= 4.14 refuses fewer than 9
    assert info["version"] == "5.0.0"
    assert str(info["localServer"]).startswith("mongo-java-server 1.")
