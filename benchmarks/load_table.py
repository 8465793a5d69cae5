"""Loading the NAS-Bench-201 table: shipped in the package vs the data folder.

    python benchmarks/load_table.py [--data ../shared/data] [--repeats 5]

Each load runs in a fresh process (after ``import nasjax``, which is not counted), so
it includes every one-time cost: JAX's start, reading the files, building the table.
Prints the median over repeats of each, the ratio and the machine load.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import subprocess
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
PROGRAM = """
import sys, time
import nasjax
start = time.perf_counter()
table = nasjax.load_table("nb201", sys.argv[1] if len(sys.argv) > 1 else None)
print(time.perf_counter() - start, table.num_rows, len(table.columns))
"""


def load_seconds(folder: str | None) -> tuple[float, int, int]:
    env = {k: v for k, v in os.environ.items() if k != "NASJAX_DATA"}
    argv = [sys.executable, "-c", PROGRAM] + ([folder] if folder else [])
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    seconds, rows, columns = out.stdout.split()
    return float(seconds), int(rows), int(columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPOSITORY.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, load before: {os.getloadavg()}"
    )
    results = {}
    for name, folder in (
        ("shipped (no data folder)", None),
        ("data folder", args.data),
    ):
        runs = [load_seconds(folder) for _ in range(args.repeats)]
        seconds = [r[0] for r in runs]
        results[name] = statistics.median(seconds)
        print(
            f"{name:<26} median {results[name]:.3f} s  (min {min(seconds):.3f}, max "
            f"{max(seconds):.3f}; {runs[0][1]} rows, {runs[0][2]} columns)"
        )
    shipped, folder = results.values()
    print(
        f"the data folder takes {folder / shipped:.1f}x as long as the shipped tables"
    )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
