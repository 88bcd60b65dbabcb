"""Shared by the benchmarks: best-of-R timing, and the output (a JSON file under
bench/results/ and a Markdown table spliced into docs/PERFORMANCE.md between
``<!-- bench:NAME -->`` markers)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size_arguments(doc: str, sizes: list[int], argv=None, extra=None) -> argparse.Namespace:
    """Parse the options every benchmark takes: ``--sizes L ...`` and ``--repeats R``;
    ``extra(parser)`` adds a benchmark's own."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if extra is not None:
        extra(parser)
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes, help="lattice sizes L")
    parser.add_argument("--repeats", type=int, default=3, help="timings per point (best kept)")
    return parser.parse_args(argv)


def best_time(fn, repeats: int) -> float:
    """Shortest wall time (s) of ``repeats`` calls of ``fn()``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> dict:
    """What the numbers were measured on."""
    import numpy as np

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


def markdown_table(columns: list[tuple[str, str, str]], rows: list[dict]) -> str:
    """Table of ``rows`` with ``columns`` given as (key, header, format)."""
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |",
             "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(format(row[k], f) if k in row else "-"
                                       for k, _, f in columns) + " |")
    return "\n".join(lines)


def publish(name: str, rows: list[dict], columns: list[tuple[str, str, str]],
            extra: dict | None = None, doc: str = "PERFORMANCE.md") -> str:
    """Write ``bench/results/NAME.json`` and replace the NAME section of docs/DOC."""
    info = machine()
    payload = {"benchmark": name, "machine": info, "rows": rows, **(extra or {})}
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    table = markdown_table(columns, rows)
    stamp = f"_Measured {info['date']} on {info['cpu_count']} cores, numpy {info['numpy']}._"
    block = f"<!-- bench:{name} -->\n{table}\n\n{stamp}\n<!-- /bench:{name} -->"
    doc = ROOT / "docs" / doc
    text = doc.read_text() if doc.exists() else f"# {doc.stem}\n"
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    doc.write_text(text)
    print(table)
    print(f"wrote {out} and the '{name}' table in {doc}")
    return table
