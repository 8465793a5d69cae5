"""Shared output helpers of the experiment scripts: markdown, figures, the machine,
and a resumable store of one JSON per finished configuration."""

from __future__ import annotations

import io
import json
import os
import pathlib
import platform
import sys
from collections.abc import Callable

import jax
import numpy as np

from nasjax._io import locked, write_atomic


def logger(name: str) -> Callable[[str], None]:
    """``log(message)`` printing ``[name] message`` on stderr."""

    def log(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    return log


def mean_std(values, digits: int = 2) -> str:
    """``"mean ± std"`` of the finite values, ``"n/a"`` if none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "n/a"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def save_figure(figure, path: pathlib.Path) -> None:
    """Writes a matplotlib figure as PNG through a temporary file and a rename."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


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


class Store:
    """One JSON file per finished configuration under ``folder``: rerunning skips
    what is stored, so a killed run resumes losing at most the configuration that
    was running. A stored file that is not a complete JSON object is named on stderr
    and recomputed; concurrent runs take turns per name (an ``fcntl.flock`` on
    ``NAME.json.lock``), so a configuration is computed once between them."""

    def __init__(self, folder: pathlib.Path, *, stored_only: bool = False):
        self.folder = pathlib.Path(folder)
        self.stored_only = stored_only

    def _read(self, path: pathlib.Path) -> dict | None:
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError, RecursionError) as error:
            problem = f"not complete JSON ({type(error).__name__})"
        else:
            if isinstance(record, dict) and record:
                return record
            problem = "not a JSON object of results"
        print(f"[store] {path} is redone: {problem}", file=sys.stderr, flush=True)
        return None

    def get(self, name: str, compute: Callable[[], dict]) -> dict | None:
        """The stored record, else ``compute()`` stored (None if ``stored_only``)."""
        path = self.folder / f"{name}.json"
        record = self._read(path)
        if record is not None or self.stored_only:
            return record
        with locked(path):
            record = self._read(path)  # another run may have stored it meanwhile
            if record is None:
                record = compute()
                write_atomic(path, json.dumps(record).encode())
        return record
