"""PNG plots of the benches' raw figures, linked from BENCHMARKS.md.

    .venv/bin/python bench/plots.py [--scale bench/results/scale.json] [--read-path bench/results/read_path.json]
        [--out bench/plots]

scale-latency.png     p50 and p99 of each page against the number of orders, entity cache off and on (scale.py)
scale-memory.png      the gateway's RSS (idle, steady, peak) against the number of orders (scale.py)
read-path-round-trips.png   round trips per store against the page size, batched and naive (read_path.py)

A plot whose JSON file is missing is skipped with a message. Reads JSON only, never Markdown.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # after choosing the backend
from matplotlib.axes import Axes

BENCH = Path(__file__).resolve().parent
PAGES = {"product": "tab:blue", "user": "tab:orange", "order": "tab:green", "user (heavy)": "tab:red"}
STORES = {"mysql": "tab:blue", "mongodb": "tab:green", "neo4j": "tab:purple"}
MODES = ("off", "on", "off-raised")
TITLES = {
    "off": "entity cache off",
    "on": "entity cache on",
    "off-raised": "cache off, store bounds raised to 60 s",
}
METADATA = {"Software": None}  # no matplotlib version in the file: the same figures give the same bytes


def _sizes(scale: dict[str, Any]) -> list[dict[str, Any]]:
    return [scale["sizes"][k] for k in sorted(scale["sizes"], key=int) if scale["sizes"][k].get("modes")]


def _orders_axis(ax: Axes, orders: list[int]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(orders, [f"{n:,}" for n in orders])
    ax.minorticks_off()
    ax.set_xlabel("orders in the dataset")
    ax.grid(True, which="major", alpha=0.3)


def latency_plot(scale: dict[str, Any], path: Path) -> None:
    """p50 (solid) and p99 (dashed) per page against the data size; one panel per entity-cache mode."""
    sizes = _sizes(scale)
    modes = [m for m in MODES if any(m in s["modes"] for s in sizes)]
    fig, axes = plt.subplots(1, len(modes), figsize=(6.5 * len(modes), 4.8), sharey=True, squeeze=False)
    for ax, mode in zip(axes[0], modes, strict=True):
        orders = [s["orders"] for s in sizes if mode in s["modes"]]
        for page, colour in PAGES.items():
            found = [(s["orders"], s["modes"][mode]["pages"].get(page)) for s in sizes if mode in s["modes"]]
            points = [(n, f) for n, f in found if f and f.get("ok")]
            if not points:
                continue
            xs = [n for n, _ in points]
            ax.plot(xs, [f["p50_ms"] for _, f in points], "o-", color=colour, label=f"{page} p50")
            ax.plot(xs, [f["p99_ms"] for _, f in points], "s--", color=colour, alpha=0.7, label=f"{page} p99")
        _orders_axis(ax, orders)
        ax.set_yscale("log")
        ax.set_title(TITLES[mode])
        ax.set_ylabel("latency (ms, log scale)")
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle("Main pages over HTTP against data size (successful requests only)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=METADATA)
    plt.close(fig)


def memory_plot(scale: dict[str, Any], path: Path) -> None:
    """The gateway process's RSS against the data size: idle after start, and the peak under load, per mode."""
    sizes = _sizes(scale)
    top = 0.0
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for mode, style in zip(MODES, ("o-", "s--", "^:"), strict=True):
        points = [(s["orders"], s["modes"][mode]) for s in sizes if mode in s["modes"]]
        if not points:
            continue
        xs = [n for n, _ in points]
        peaks = [max((f["rss_peak_mib"] or 0) for f in m["pages"].values()) for _, m in points]
        top = max(top, *peaks)
        ax.plot(xs, peaks, style, color="tab:red", label=f"peak under load, cache {mode}")
        ax.plot(xs, [m["rss_idle_mib"] for _, m in points], style, color="tab:grey", label=f"idle, cache {mode}")
    _orders_axis(ax, [s["orders"] for s in sizes])
    ax.set_ylim(0, top * 1.2 or None)  # room above the lines for the legend
    ax.set_ylabel("gateway RSS (MiB)")
    ax.set_title("Gateway memory against data size")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=METADATA)
    plt.close(fig)


def round_trips_plot(read_path: dict[str, Any], path: Path) -> None:
    """Round trips per store against the page size: batched (solid) stays flat, naive (dashed) grows."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    sizes = sorted({row["n"] for row in read_path["rows"]})
    for mode, style in (("batched", "o-"), ("naive", "s--")):
        rows = sorted((row for row in read_path["rows"] if row["mode"] == mode), key=lambda row: row["n"])
        for store, colour in STORES.items():
            xs = [row["n"] for row in rows]
            ys = [max(row["round_trips"].get(store, 0), 0.8) for row in rows]  # 0 would vanish on a log axis
            ax.plot(xs, ys, style, color=colour, label=f"{store}, {mode}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.minorticks_off()
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("orders on the page (n)")
    ax.set_ylabel("round trips per request (log scale)")
    ax.set_title(f"One user's page of n orders ({read_path['orders']:,}-order dataset): round trips per store")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=METADATA)
    plt.close(fig)


def render(scale: Path | None, read_path: Path | None, out: Path) -> list[Path]:
    """Every plot whose JSON exists, into ``out``; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if scale is not None and scale.exists():
        figures = json.loads(scale.read_text())
        if _sizes(figures):
            for name, draw in (("scale-latency.png", latency_plot), ("scale-memory.png", memory_plot)):
                draw(figures, out / name)
                written.append(out / name)
    else:
        print(f"no {scale}: run bench/scale.py first")
    if read_path is not None and read_path.exists():
        round_trips_plot(json.loads(read_path.read_text()), out / "read-path-round-trips.png")
        written.append(out / "read-path-round-trips.png")
    else:
        print(f"no {read_path}: run bench/read_path.py first")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=Path, default=BENCH / "results" / "scale.json")
    parser.add_argument("--read-path", type=Path, default=BENCH / "results" / "read_path.json")
    parser.add_argument("--out", type=Path, default=BENCH / "plots")
    args = parser.parse_args()
    for path in render(args.scale, args.read_path, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
