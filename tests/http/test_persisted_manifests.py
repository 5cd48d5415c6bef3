"""Persisted-operation manifests (gateway/http/manifests.py): Apollo's and Relay's, persisted-only mode, and the CLI.

Each test builds its manifests in ``tmp_path`` and serves an app of its own with them (``persisted_dir`` points at
an empty folder of the test's, so the repository's deploy/persisted never leaks in).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from gateway.config import Settings
from gateway.http.app import create_app
from gateway.http.manifests import ManifestError
from gateway.http.media import GRAPHQL_RESPONSE, JSON
from gateway.stores.redis.persisted import key
from tests.http.conftest import serve

ROOT = Path(__file__).resolve().parents[2]
NEW = {"Accept": GRAPHQL_RESPONSE}
OLD = {"Accept": JSON}
NOT_FOUND = {"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}

VIEWER_TYPE = "query Typename { __typename }"
REDIS_SERVER = "query RedisServer($x: Boolean!) { backends @include(if: $x) { redis { server } } }"
DROP = "mutation Drop($id: ID!) { removeFromCart(productId: $id) { totalQuantity } }"
REDIS_ANSWER = {"data": {"backends": {"redis": {"server": "Redis"}}}}


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def apollo_manifest(*documents: tuple[str, str, str]) -> dict[str, Any]:
    """Apollo's persisted query manifest of (name, type, body) operations, ids the sha256 of each body."""
    operations = [{"id": sha256(body), "name": name, "type": kind, "body": body} for name, kind, body in documents]
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


def write(path: Path, payload: object) -> Path:
    path.write_bytes(orjson.dumps(payload))
    return path


def with_manifests(settings: Settings, tmp_path: Path, *paths: Path, only: bool = False) -> Settings:
    empty = tmp_path / "no-manifests-here"
    update = {"persisted_manifests": tuple(paths), "persisted_dir": empty, "persisted_only": only}
    return settings.model_copy(update=update)


@pytest.fixture
def manifests(tmp_path: Path) -> tuple[Path, Path]:
    """An Apollo manifest (a query and a mutation) and a Relay map (doc_id → document)."""
    apollo = write(
        tmp_path / "ios-5.2.0.json",
        apollo_manifest(("Typename", "query", VIEWER_TYPE), ("Drop", "mutation", DROP)),
    )
    relay = write(tmp_path / "relay.json", {"5f0e3c2a9d7b4e61": REDIS_SERVER, "drop-1": DROP})
    return apollo, relay


# --- Apollo and Relay manifests -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_apollo_manifest_operations_run_by_hash(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path], redis: Redis, method: str
) -> None:
    async with serve(with_manifests(settings, tmp_path, *manifests)) as client:
        extensions = apq(sha256(VIEWER_TYPE))
        if method == "GET":
            response = await client.get("/graphql", params={"extensions": orjson.dumps(extensions).decode()})
        else:
            response = await client.post("/graphql", json={"extensions": extensions})
        assert response.status_code == 200, response.text
        assert response.json() == {"data": {"__typename": "Query"}}
    assert await redis.exists(key(sha256(VIEWER_TYPE))) == 0  # served from memory, never copied to Redis


async def test_relay_doc_id_runs_in_the_body_and_as_a_get_parameter(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path]
) -> None:
    async with serve(with_manifests(settings, tmp_path, *manifests)) as client:
        by_post = await client.post("/graphql", json={"doc_id": "5f0e3c2a9d7b4e61", "variables": {"x": True}})
        assert by_post.status_code == 200, by_post.text
        assert by_post.json() == REDIS_ANSWER
        params = {"doc_id": "5f0e3c2a9d7b4e61", "variables": '{"x": true}', "operationName": "RedisServer"}
        by_get = await client.get("/graphql", params=params, headers=NEW)
        assert by_get.status_code == 200, by_get.text
        assert by_get.json() == REDIS_ANSWER
        # an Apollo id is a doc_id too, and a Relay document can be asked for by its sha256
        assert (await client.post("/graphql", json={"doc_id": sha256(VIEWER_TYPE)})).json()["data"] == {
            "__typename": "Query"
        }
        by_hash = await client.post(
            "/graphql", json={"extensions": apq(sha256(REDIS_SERVER)), "variables": {"x": True}}
        )
        assert by_hash.json() == REDIS_ANSWER


@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_unknown_doc_id_is_persisted_query_not_found(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path], accept: dict[str, str]
) -> None:
    async with serve(with_manifests(settings, tmp_path, *manifests)) as client:
        for response in (
            await client.post("/graphql", json={"doc_id": "no-such-id"}, headers=accept),
            await client.get("/graphql", params={"doc_id": "no-such-id"}, headers=accept),
        ):
            assert response.status_code == 200, response.text
            assert response.json() == NOT_FOUND
            assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"doc_id": ""}, "`doc_id` must be a non-empty string"),
        ({"doc_id": 12}, "`doc_id` must be a non-empty string"),
        ({"doc_id": "drop-1", "query": "{ __typename }"}, "either `query` or `doc_id`"),
        ({"doc_id": "drop-1", "extensions": apq("0" * 64)}, "either `doc_id` or `extensions.persistedQuery`"),
    ],
)
async def test_a_malformed_doc_id_request_is_400(client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await client.post("/graphql", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert message in response.json()["errors"][0]["message"]


async def test_a_mutation_by_doc_id_runs_over_post_and_is_405_over_get(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path]
) -> None:
    guest = {"X-Session-Id": f"manifest-{uuid.uuid4().hex}"}
    async with serve(with_manifests(settings, tmp_path, *manifests, only=True)) as client:
        by_post = await client.post("/graphql", json={"doc_id": "drop-1", "variables": {"id": "1"}}, headers=guest)
        assert by_post.json() == {"data": {"removeFromCart": {"totalQuantity": 0}}}
        params = {"doc_id": "drop-1", "variables": '{"id": "1"}'}
        by_get = await client.get("/graphql", params=params, headers=guest)
        assert by_get.status_code == 405, by_get.text
        assert by_get.headers["allow"] == "POST"
        hashed = {"extensions": orjson.dumps(apq(sha256(DROP))).decode(), "variables": '{"id": "1"}'}
        assert (await client.get("/graphql", params=hashed, headers=guest)).status_code == 405


# --- persisted-only -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [NEW, OLD])
async def test_persisted_only_refuses_a_document_in_no_manifest(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path], accept: dict[str, str]
) -> None:
    async with serve(with_manifests(settings, tmp_path, *manifests, only=True)) as client:
        for response in (
            await client.post("/graphql", json={"query": "{ backends { redis { server } } }"}, headers=accept),
            await client.get("/graphql", params={"query": "{ __typename }"}, headers=accept),
        ):
            assert response.status_code == 400, response.text
            body = response.json()
            assert "data" not in body
            assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
            assert "manifest" in body["errors"][0]["message"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_persisted_only_refuses_an_apq_registration_and_stores_nothing(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path], redis: Redis, method: str
) -> None:
    document = f"# {uuid.uuid4()}\n{{ __typename }}"
    digest = sha256(document)
    async with serve(with_manifests(settings, tmp_path, *manifests, only=True)) as client:
        extensions = apq(digest)
        if method == "GET":
            params = {"query": document, "extensions": orjson.dumps(extensions).decode()}
            response = await client.get("/graphql", params=params)
        else:
            response = await client.post("/graphql", json={"query": document, "extensions": extensions})
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert await redis.exists(key(digest)) == 0


async def test_persisted_only_runs_manifest_documents_however_they_are_sent(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path]
) -> None:
    async with serve(with_manifests(settings, tmp_path, *manifests, only=True)) as client:
        in_full = await client.post("/graphql", json={"query": REDIS_SERVER, "variables": {"x": True}})
        assert in_full.json() == REDIS_ANSWER
        registered = await client.post("/graphql", json={"query": VIEWER_TYPE, "extensions": apq(sha256(VIEWER_TYPE))})
        assert registered.json() == {"data": {"__typename": "Query"}}
        by_hash = await client.get("/graphql", params={"extensions": orjson.dumps(apq(sha256(VIEWER_TYPE))).decode()})
        assert by_hash.json() == {"data": {"__typename": "Query"}}
        by_id = await client.get("/graphql", params={"doc_id": "5f0e3c2a9d7b4e61", "variables": '{"x": true}'})
        assert by_id.json() == REDIS_ANSWER


async def test_persisted_only_never_serves_what_apq_stored_in_redis(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path], redis: Redis
) -> None:
    document = f"# {uuid.uuid4()}\n{{ __typename }}"
    digest = sha256(document)
    await redis.set(key(digest), document, ex=300)  # registered while persisted-only was off
    async with serve(with_manifests(settings, tmp_path, *manifests)) as client:
        assert (await client.post("/graphql", json={"extensions": apq(digest)})).json() == {
            "data": {"__typename": "Query"}
        }
    async with serve(with_manifests(settings, tmp_path, *manifests, only=True)) as client:
        response = await client.post("/graphql", json={"extensions": apq(digest)})
        assert response.status_code == 200, response.text
        assert response.json() == NOT_FOUND


async def test_an_older_manifest_keeps_working_beside_a_newer_one(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "persisted"
    folder.mkdir()
    write(folder / "android-1.0.json", apollo_manifest(("Typename", "query", VIEWER_TYPE)))
    write(folder / "android-2.0.json", apollo_manifest(("RedisServer", "query", REDIS_SERVER)))
    update = {"persisted_dir": folder, "persisted_manifests": (), "persisted_only": True}
    async with serve(settings.model_copy(update=update)) as client:
        old_build = await client.post("/graphql", json={"extensions": apq(sha256(VIEWER_TYPE))})
        assert old_build.json() == {"data": {"__typename": "Query"}}
        new_build = await client.post(
            "/graphql", json={"extensions": apq(sha256(REDIS_SERVER)), "variables": {"x": True}}
        )
        assert new_build.json() == REDIS_ANSWER


# --- a manifest that cannot be served stops the start ---------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "a manifest is a JSON object"),
        (orjson.dumps({"format": "relay", "operations": []}), "unknown manifest format"),
        (orjson.dumps({**apollo_manifest(), "version": 2}), "version 2"),
        (
            orjson.dumps(
                {
                    "format": "apollo-persisted-query-manifest",
                    "version": 1,
                    "operations": [{"id": "0" * 64, "name": "Typename", "type": "query", "body": VIEWER_TYPE}],
                }
            ),
            "is not the sha256 of its body",
        ),
        (orjson.dumps(apollo_manifest(("Typename", "mutation", VIEWER_TYPE))), "the document's operation is a query"),
        (orjson.dumps(apollo_manifest(("Other", "query", VIEWER_TYPE))), "`name` is 'Other'"),
        (orjson.dumps({"doc-1": "{ __typename "}), "does not parse"),
        (orjson.dumps({"doc-1": "fragment F on Query { __typename }"}), "defines no operation"),
        (orjson.dumps({"doc-1": 5}), "must be a non-empty string"),
        (orjson.dumps({"0" * 64: VIEWER_TYPE}), "looks like a sha256"),
    ],
)
def test_an_invalid_manifest_fails_start(settings: Settings, tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(payload)
    with pytest.raises(ManifestError, match=r"bad\.json") as raised:
        create_app(with_manifests(settings, tmp_path, path))
    assert message in str(raised.value)


async def test_an_operation_the_schema_no_longer_validates_is_a_warning_not_a_failure(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write(tmp_path / "old.json", {"gone-1": "query Gone { aFieldSinceRemoved }"})
    with caplog.at_level("WARNING", logger="gateway.app"):
        async with serve(with_manifests(settings, tmp_path, old, only=True)) as client:
            response = await client.post("/graphql", json={"doc_id": "gone-1"}, headers=NEW)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert any("old.json: gone-1 (Gone)" in record.getMessage() for record in caplog.records)


def test_one_id_for_two_documents_fails_start(settings: Settings, tmp_path: Path) -> None:
    first = write(tmp_path / "a.json", {"doc-1": VIEWER_TYPE})
    second = write(tmp_path / "b.json", {"doc-1": REDIS_SERVER})
    with pytest.raises(ManifestError, match=r"'doc-1' names different documents in a\.json and b\.json"):
        create_app(with_manifests(settings, tmp_path, first, second))


def test_a_missing_manifest_fails_start(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot be read"):
        create_app(with_manifests(settings, tmp_path, tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.json,b.json", (Path("a.json"), Path("b.json"))),
        (" a.json , b.json ,", (Path("a.json"), Path("b.json"))),
        ('["a.json", "with, comma.json"]', (Path("a.json"), Path("with, comma.json"))),
        ("", ()),
    ],
)
def test_manifest_paths_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[Path, ...]
) -> None:
    monkeypatch.setenv("GATEWAY_PERSISTED_MANIFESTS", value)
    assert Settings().persisted_manifests == expected


# --- gateway persisted add / list -----------------------------------------------------------------------------


def cli(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """``gateway persisted …`` as a user runs it, with this checkout's code and ``folder`` as the persisted dir."""
    env = {**os.environ, "GATEWAY_PERSISTED_DIR": str(folder), "GATEWAY_PERSISTED_MANIFESTS": ""}
    command = [sys.executable, "-m", "gateway.cli", "persisted", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_cli_add_validates_copies_and_list_shows_every_operation(tmp_path: Path, manifests: tuple[Path, Path]) -> None:
    folder = tmp_path / "persisted"
    apollo, relay = manifests
    added = cli("add", str(apollo), folder=folder)
    assert added.returncode == 0, added.stderr
    assert "2 operations (1 queries, 1 mutations)" in added.stdout
    assert (folder / "ios-5.2.0.json").read_bytes() == apollo.read_bytes()
    assert cli("add", str(relay), folder=folder).returncode == 0
    assert cli("add", str(apollo), folder=folder).returncode == 0  # the same file again: nothing changes

    listed = cli("list", folder=folder)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == ["MANIFEST", "ID", "NAME", "TYPE"]
    assert sorted(rows[1:]) == sorted(
        [
            ["ios-5.2.0.json", sha256(VIEWER_TYPE), "Typename", "query"],
            ["ios-5.2.0.json", sha256(DROP), "Drop", "mutation"],
            ["relay.json", "5f0e3c2a9d7b4e61", "RedisServer", "query"],
            ["relay.json", "drop-1", "Drop", "mutation"],
        ]
    )


async def test_a_manifest_added_by_the_cli_is_served(
    settings: Settings, tmp_path: Path, manifests: tuple[Path, Path]
) -> None:
    folder = tmp_path / "persisted"
    assert cli("add", str(manifests[1]), folder=folder).returncode == 0
    update = {"persisted_dir": folder, "persisted_manifests": (), "persisted_only": True}
    async with serve(settings.model_copy(update=update)) as client:
        response = await client.post("/graphql", json={"doc_id": "5f0e3c2a9d7b4e61", "variables": {"x": True}})
        assert response.json() == REDIS_ANSWER


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"doc-1": "{ noSuchField }"}, "do not validate against the schema"),
        ({"doc-1": "{ __typename "}, "does not parse"),
        (apollo_manifest(("Typename", "mutation", VIEWER_TYPE)), "the document's operation is a query"),
    ],
)
def test_cli_add_refuses_an_invalid_manifest_with_1(tmp_path: Path, payload: object, message: str) -> None:
    folder = tmp_path / "persisted"
    done = cli("add", str(write(tmp_path / "bad.json", payload)), folder=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert message in done.stderr
    assert not folder.exists() or not list(folder.iterdir())


def test_cli_add_refuses_a_conflict_with_an_added_manifest_with_1(tmp_path: Path) -> None:
    folder = tmp_path / "persisted"
    assert cli("add", str(write(tmp_path / "v1.json", {"doc-1": VIEWER_TYPE})), folder=folder).returncode == 0
    done = cli("add", str(write(tmp_path / "v2.json", {"doc-1": REDIS_SERVER})), folder=folder)
    assert done.returncode == 1
    assert "names different documents" in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["v1.json"]


def test_cli_bad_usage_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "persisted"
    missing = cli("add", str(tmp_path / "missing.json"), folder=folder)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert cli(folder=folder).returncode == 2  # no subcommand
    assert cli("add", folder=folder).returncode == 2  # no FILE
    assert cli("add", str(write(tmp_path / "v1.json", {"doc-1": VIEWER_TYPE})), folder=folder).returncode == 0
    other = tmp_path / "elsewhere"
    other.mkdir()
    clash = cli("add", str(write(other / "v1.json", {"doc-2": VIEWER_TYPE})), folder=folder)
    assert clash.returncode == 2
    assert "a name of its own" in clash.stderr
    assert orjson.loads((folder / "v1.json").read_bytes()) == {"doc-1": VIEWER_TYPE}


def test_cli_list_with_an_invalid_manifest_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "persisted"
    folder.mkdir()
    (folder / "broken.json").write_text("{")
    done = cli("list", folder=folder)
    assert done.returncode == 1
    assert "broken.json: not valid JSON" in done.stderr
