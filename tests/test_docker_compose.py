"""docker-compose.yml and the Dockerfile, checked without Docker (no engine is needed to run these).

The compose file is the one place besides gateway/config.py that lists every setting: these tests keep the two in
step, and check what would only show up at ``docker compose up``: images, health checks, start order, the
ports published on the host, the store URLs and credentials the gateway is given, and the image's command.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.cli import build_parser
from gateway.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "GATEWAY_"

# Compose service -> (image, the Settings field holding its URL, the port the image listens on).
STORES: dict[str, tuple[str, str, int]] = {
    "mysql": ("mysql:8.4", "mysql_url", 3306),
    "mongodb": ("mongo:8", "mongo_url", 27017),
    "neo4j": ("neo4j:5.26", "neo4j_url", 7687),
    "redis": ("redis:7", "redis_url", 6379),
}

_INTERPOLATION = re.compile(
    r"""\$(?:
        (?P<escaped>\$)
      | \{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}
      | (?P<named>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<invalid>)
    )""",
    re.VERBOSE,
)


def resolve_defaults(value: str) -> str:
    """``value`` as Compose reads it when no variable is set: ``${VAR:-default}`` and ``${VAR-default}`` become
    ``default``, ``${VAR}`` and ``$VAR`` become empty, ``$$`` becomes ``$``; any other ``$`` form is an error."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise ValueError(f"unsupported interpolation at offset {match.start()} of {value!r}")
        return match["default"] or ""

    return _INTERPOLATION.sub(replace, value)


def test_resolve_defaults() -> None:
    assert resolve_defaults("neo4j/${PW:-secret}") == "neo4j/secret"
    assert resolve_defaults("${A-x}|${B}|$C|$$HOME") == "x|||$HOME"
    with pytest.raises(ValueError, match="unsupported interpolation"):
        resolve_defaults("${PW:?must be set}")


# ---------------------------------------------------------------- fixtures: the files, parsed


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(compose, dict), "docker-compose.yml is not a mapping"
    found = compose.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services mapping"
    assert found, "docker-compose.yml has no services"
    return found


@pytest.fixture(scope="module")
def gateway_env(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    assert "gateway" in services, "docker-compose.yml has no gateway service"
    env = services["gateway"].get("environment")
    assert isinstance(env, dict), "the gateway's environment must be a mapping (KEY: value)"
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


@pytest.fixture(scope="module")
def dockerfile() -> str:
    path = ROOT / "Dockerfile"
    assert path.is_file(), "Dockerfile is missing"
    return path.read_text()


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment in either form Compose accepts (mapping, or a list of KEY=value)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, comments dropped and continuation lines joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage(dockerfile: str) -> tuple[str, list[tuple[str, str]]]:
    """The base image of the last stage (the image that is run) and that stage's instructions."""
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for keyword, args in instructions(dockerfile):
        if keyword == "FROM":
            image = next(word for word in args.split() if not word.startswith("--"))
            stages.append((image, []))
        elif stages:
            stages[-1][1].append((keyword, args))
    assert stages, "the Dockerfile has no FROM"
    return stages[-1]


def exec_form(args: str) -> list[str]:
    """CMD/ENTRYPOINT arguments as a list, from the JSON (exec) form or the shell form."""
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list)
        return [str(word) for word in parsed]
    return shlex.split(args)


def is_image(image: str, expected: str) -> bool:
    """``image`` is ``expected`` or a more precise tag of it: mongo:8 accepts mongo:8.0.4, not mongo:80."""
    return image == expected or image.startswith((expected + ".", expected + "-"))


# ---------------------------------------------------------------- the gateway's environment and Settings


def test_every_setting_is_in_the_gateway_environment(gateway_env: dict[str, str]) -> None:
    expected = {PREFIX + name.upper() for name in Settings.model_fields}
    missing = sorted(expected - gateway_env.keys())
    assert not missing, f"the gateway service in docker-compose.yml does not set: {', '.join(missing)}"


def test_no_unknown_gateway_variable(gateway_env: dict[str, str]) -> None:
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    unknown = sorted(key for key in gateway_env if key.upper().startswith(PREFIX) and key not in known)
    assert not unknown, f"not fields of gateway.config.Settings (typos?): {', '.join(unknown)}"


def test_settings_validate_from_the_gateway_environment(gateway_env: dict[str, str]) -> None:
    values = {
        key[len(PREFIX) :].lower(): resolve_defaults(value)
        for key, value in gateway_env.items()
        if key.startswith(PREFIX)
    }
    settings = Settings(**values)  # type: ignore[arg-type]
    # Bound to the container's loopback, the gateway would be unreachable through the published port.
    assert settings.host == "0.0.0.0", f"GATEWAY_HOST is {settings.host!r} in the container"


@pytest.mark.parametrize("store", sorted(STORES))
def test_store_url_points_at_the_compose_service(
    store: str, services: dict[str, dict[str, Any]], gateway_env: dict[str, str]
) -> None:
    _, field, listen_port = STORES[store]
    key = PREFIX + field.upper()
    assert key in gateway_env, f"{key} is not set for the gateway"
    url = urlsplit(resolve_defaults(gateway_env[key]))
    assert url.hostname == store, f"{key} names host {url.hostname!r}, not the compose service {store!r}"
    assert store in services, f"docker-compose.yml has no {store} service"
    assert (url.port or listen_port) == listen_port, f"{key} uses port {url.port}, {store} listens on {listen_port}"
    container_ports = {published_port(spec)[2] for spec in services[store].get("ports", [])}
    assert container_ports <= {listen_port}, f"{store} publishes {container_ports}, it listens on {listen_port}"


def test_store_credentials_match_the_gateway(services: dict[str, dict[str, Any]], gateway_env: dict[str, str]) -> None:
    mysql = environment(services["mysql"])
    url = urlsplit(resolve_defaults(gateway_env[PREFIX + "MYSQL_URL"]))
    assert url.username == mysql.get("MYSQL_USER"), "the MySQL user differs between gateway and mysql"
    assert url.path.lstrip("/") == mysql.get("MYSQL_DATABASE"), "the database differs between gateway and mysql"
    # Compared before interpolation: the same expression gives the same password whatever the shell sets.
    assert gateway_env[PREFIX + "MYSQL_PASSWORD"] == mysql.get("MYSQL_PASSWORD"), "MySQL passwords differ"
    neo4j_auth = f"{gateway_env[PREFIX + 'NEO4J_USER']}/{gateway_env[PREFIX + 'NEO4J_PASSWORD']}"
    assert environment(services["neo4j"]).get("NEO4J_AUTH") == neo4j_auth, "NEO4J_AUTH differs from the gateway's"


def test_mysql_init_grants_every_gateway_database(services: dict[str, dict[str, Any]]) -> None:
    mounts = [str(volume) for volume in services["mysql"].get("volumes", [])]
    init = [mount.split(":")[0] for mount in mounts if ":/docker-entrypoint-initdb.d" in mount]
    assert init, "no init directory is mounted on /docker-entrypoint-initdb.d"
    sql = " ".join(path.read_text() for path in sorted((ROOT / init[0]).glob("*.sql")))
    assert re.search(r"GRANT ALL PRIVILEGES ON `gateway%`\.\* TO 'gateway'@'%'", sql), "no grant on gateway%"


# ---------------------------------------------------------------- the stores and the host


@pytest.mark.parametrize("store", sorted(STORES))
def test_store_image_and_healthcheck(store: str, services: dict[str, dict[str, Any]]) -> None:
    assert store in services, f"docker-compose.yml has no {store} service"
    service = services[store]
    expected = STORES[store][0]
    assert is_image(str(service.get("image")), expected), f"{store} runs {service.get('image')}, not {expected}"
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), f"{store}'s health check is disabled"
    test = check.get("test")
    assert test, f"{store} has no health check test"
    assert test != ["NONE"], f"{store}'s health check test is NONE"
    if isinstance(test, list):
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{store}'s health check test starts with {test[0]!r}"
        assert len(test) > 1, f"{store}'s health check test has no command"


def test_gateway_waits_for_healthy_stores(services: dict[str, dict[str, Any]]) -> None:
    depends_on = services["gateway"].get("depends_on")
    assert isinstance(depends_on, dict), "gateway.depends_on must be a mapping with conditions"
    wrong = {
        store: (depends_on.get(store) or {}).get("condition")
        for store in STORES
        if (depends_on.get(store) or {}).get("condition") != "service_healthy"
    }
    assert not wrong, f"the gateway does not wait for these stores to be healthy: {wrong}"


def published_port(spec: Any) -> tuple[str, str, int]:
    """(host ip, host port, container port) of one ``ports`` entry, short or long syntax."""
    if isinstance(spec, dict):
        return str(spec.get("host_ip", "")), str(spec.get("published", "")), int(spec["target"])
    text = resolve_defaults(str(spec)).split("/")[0]
    ip, host_port, container_port = ([""] * 2 + text.rsplit(":", 2))[-3:]
    return ip, host_port, int(container_port)


def test_published_ports_are_bound_to_loopback(services: dict[str, dict[str, Any]]) -> None:
    published = {name: service.get("ports", []) for name, service in services.items() if service.get("ports")}
    assert published, "no service publishes a port"
    exposed = [
        f"{name}: {spec}"
        for name, specs in published.items()
        for spec in specs
        if published_port(spec)[0] != "127.0.0.1"
    ]
    assert not exposed, f"ports published beyond 127.0.0.1: {exposed}"
    host_network = [name for name, service in services.items() if service.get("network_mode") == "host"]
    assert not host_network, f"services on the host's network (every port exposed): {host_network}"


# ---------------------------------------------------------------- the image


def test_dockerfile_runs_gateway_serve_on_python_311(dockerfile: str) -> None:
    bases = [args.split()[0] for keyword, args in instructions(dockerfile) if keyword == "FROM"]
    assert any(is_image(base, "python:3.11") for base in bases), f"no python:3.11 stage in {bases}"
    base, stage = final_stage(dockerfile)
    assert is_image(base, "python:3.11"), f"the image that runs is built FROM {base}, not python:3.11"
    assert not [args for keyword, args in stage if keyword == "ENTRYPOINT"], "an ENTRYPOINT would wrap the CMD"
    commands = [exec_form(args) for keyword, args in stage if keyword == "CMD"]
    assert commands, "the final stage has no CMD"
    assert commands[-1][:2] == ["gateway", "serve"], f"CMD is {commands[-1]}, not gateway serve"
    users = [args.split(":")[0] for keyword, args in stage if keyword == "USER"]
    assert users, "the final stage sets no USER: the gateway would run as root"
    assert users[-1] not in {"root", "0"}, "the gateway runs as root"


def test_graphiql_assets_land_where_the_gateway_looks(dockerfile: str, gateway_env: dict[str, str]) -> None:
    _, stage = final_stage(dockerfile)
    copied = [shlex.split(args)[-1].rstrip("/") for keyword, args in stage if keyword == "COPY" and "--from=" in args]
    assets_dir = resolve_defaults(gateway_env[PREFIX + "GRAPHIQL_ASSETS_DIR"]).rstrip("/")
    assert assets_dir in copied, f"GATEWAY_GRAPHIQL_ASSETS_DIR is {assets_dir}, the image copies to {copied}"


def test_compose_builds_the_gateway_from_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    build = services["gateway"].get("build")
    context, dockerfile = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else ((build or {}).get("context"), (build or {}).get("dockerfile", "Dockerfile"))
    )
    assert context is not None, "the gateway service is not built (no build:)"
    used = (ROOT / str(context) / str(dockerfile)).resolve()
    assert used == (ROOT / "Dockerfile").resolve(), f"the gateway is built from {used}, not the Dockerfile"


# ---------------------------------------------------------------- first start: migrate and seed once, then serve


def _shell_commands(service: dict[str, Any]) -> list[list[str]]:
    """The commands of a ``["sh", "-c", "a && b"]`` service command, each split into words (``exec`` dropped),
    with Compose's ``$$`` read as ``$`` and the shell's variables left as written."""
    command = service.get("command")
    assert isinstance(command, list), f"command is not in exec form: {command!r}"
    assert command[:2] == ["sh", "-c"], command
    script = command[2].replace("$$", "$")
    return [[w for w in shlex.split(part) if w != "exec"] for part in script.split("&&")]


def test_a_one_shot_service_migrates_and_seeds_the_demo_once(
    services: dict[str, dict[str, Any]], gateway_env: dict[str, str]
) -> None:
    setup = services["setup"]
    commands = _shell_commands(setup)
    assert [c[:2] for c in commands] == [["gateway", "migrate"], ["gateway", "seed"]]
    parsed = [build_parser().parse_args(c[1:]) for c in commands]  # the CLI the tests and scripts/run use
    assert parsed[1].dataset == "movielens-100k"
    assert parsed[1].if_empty, "a second `docker compose up` must not seed again"
    assert str(setup.get("restart")) == "no"
    assert setup.get("build") == services["gateway"].get("build")
    assert setup.get("image") == services["gateway"].get("image")
    assert {str(k): "" if v is None else str(v) for k, v in setup["environment"].items()} == gateway_env
    waits = {name: spec.get("condition") for name, spec in setup["depends_on"].items()}
    assert waits == dict.fromkeys(STORES, "service_healthy")
    assert services["gateway"]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}


def test_the_gateway_serves_with_workers(services: dict[str, dict[str, Any]], gateway_env: dict[str, str]) -> None:
    (command,) = _shell_commands(services["gateway"])
    workers = resolve_defaults(gateway_env["GATEWAY_WORKERS"])
    words = [workers if w == "${GATEWAY_WORKERS}" else w for w in command]
    assert words[:3] == ["gateway", "serve", "--workers"], command
    args = build_parser().parse_args(words[1:])
    assert args.workers == int(workers) >= 2


def test_every_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        test = (service.get("healthcheck") or {}).get("test")
        assert test, f"{name} has no health check"
        assert test[0] in {"CMD", "CMD-SHELL"}, (name, test)
