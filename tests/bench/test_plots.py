"""bench/plots.py draws real PNGs from the benches' JSON figures (a small fixture here, not the committed results)."""

from __future__ import annotations

import json
from pathlib import Path

import plots

PNG = b"\x89PNG\r\n\x1a\n"


def figures(p50: float) -> dict[str, object]:
    return {
        "requests": 10,
        "ok": 9,
        "errors": {"HTTP 200 TIMEOUT neo4j": 1},
        "p50_ms": p50,
        "p99_ms": p50 * 3,
        "rps": 5.0,
        "rss_peak_mib": 150.0 + p50,
        "rss_steady_mib": 140.0,
    }


def scale_fixture() -> dict[str, object]:
    sizes = {}
    for orders, factor in ((10_000, 1.0), (100_000, 2.0), (1_000_000, 5.0)):
        pages = {page: figures(20 * factor * (i + 1)) for i, page in enumerate(("product", "user", "order"))}
        modes = {mode: {"rss_idle_mib": 120.0, "pages": pages} for mode in ("off", "on")}
        sizes[str(orders)] = {"orders": orders, "modes": modes}
    sizes["5000000"] = {"orders": 5_000_000, "seed": {}}  # seeded, never measured: left out of the plots
    return {"sizes": sizes}


def read_path_fixture() -> dict[str, object]:
    rows = []
    for n in (1, 10, 100, 1000):
        rows.append({"mode": "batched", "n": n, "round_trips": {"mysql": 6, "mongodb": 2, "neo4j": 1}})
        rows.append({"mode": "naive", "n": n, "round_trips": {"mysql": 3 * n + 6, "mongodb": 4 * n, "neo4j": 1}})
    return {"orders": 20_000, "rows": rows}


def test_render_writes_every_plot_as_a_non_trivial_png(tmp_path: Path) -> None:
    scale, read_path = tmp_path / "scale.json", tmp_path / "read_path.json"
    scale.write_text(json.dumps(scale_fixture()))
    read_path.write_text(json.dumps(read_path_fixture()))

    written = plots.render(scale, read_path, tmp_path / "out")

    names = sorted(path.name for path in written)
    assert names == ["read-path-round-trips.png", "scale-latency.png", "scale-memory.png"]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG), path
        assert len(data) > 10_000, (path, len(data))  # axes, lines and labels, not an empty canvas


def test_a_missing_json_skips_its_plots_only(tmp_path: Path) -> None:
    read_path = tmp_path / "read_path.json"
    read_path.write_text(json.dumps(read_path_fixture()))

    written = plots.render(tmp_path / "absent.json", read_path, tmp_path / "out")

    assert [path.name for path in written] == ["read-path-round-trips.png"]
    assert not (tmp_path / "out" / "scale-latency.png").exists()
