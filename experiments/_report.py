"""Shared output helpers of the experiment scripts: a logger, markdown tables, the
machine, and a search run under a progress bar. Atomic files, the resumable store,
figures and ``mean ± std`` come from :mod:`nasjax.io`."""

from __future__ import annotations

import os
import pathlib
import platform
import sys
from collections.abc import Callable

import jax


def logger(name: str) -> Callable[[str], None]:
    """``log(message)`` printing ``[name] message`` on stderr."""

    def log(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    return log


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line naming the CPU, core count, jax version and backend."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    backend = jax.default_backend()
    return (
        f"{os.cpu_count()} cores of {cpu}, {platform.system()}, jax {jax.__version__} "
        f"on {backend} ({len(jax.devices())} device(s))"
    )


def run_seeds_with_bar(label: str, strategy, table, keys, num_queries: int, **kwargs):
    """:func:`nasjax.search.run_seeds` under a progress bar named ``label``.

    Blocks until the run is done (the bar closes after its last report).
    """
    from nasjax import _progress, search

    with _progress.Bar(len(keys) * num_queries, label):
        result = search.run_seeds(
            strategy, table, keys, num_queries, progress=True, **kwargs
        )
        _progress.finish_run(result)
    return result
