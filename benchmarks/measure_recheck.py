"""Re-times cells of a ``nasjax measure`` file: does the table hold, and did the
machine drift while it was measured?

Takes ``--cells`` timed rows spread evenly over the file's row order (the order they
were measured in), times each again (:func:`nasjax.measure.time_network`
with the file's warm-up and repeats) and prints per cell the stored and the new
latency; then the median ratio new / stored over the first and the second half of
the file's order (a drift while measuring shows as a difference between the two) and
the median absolute difference. Usage:

    python benchmarks/measure_recheck.py FILE [--cells 40] [--cores LIST]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from nasjax import measure, networks, spaces
from nasjax.data import measured


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a nasjax measure parquet file")
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument(
        "--cores", help="pin to these CPU cores (one core: XLA single-threaded)"
    )
    args = parser.parse_args()
    if not os.path.isfile(args.file):
        parser.error(f"no file {args.file!r}")
    if args.cores is not None:
        try:
            measure.pin_cores(args.cores)
        except ValueError as error:
            parser.error(str(error))
    frame = measured.read_measurements(args.file)
    timed = frame[frame["arch_str"] == frame["measured_as"]].reset_index(drop=True)
    if len(timed) < 2 or args.cells < 2:
        parser.error("need a file of at least 2 timed rows and --cells >= 2")
    setup = timed.iloc[0]
    space = spaces.get(setup["space"])
    device = measure.device_setup(measure.resolve_device(setup["backend"]))
    print(
        f"# {args.file}: {len(timed)} timed rows ({setup['host_cpu']}); rechecked on "
        f"{device['host_cpu']}, load average {os.getloadavg()[0]:.2f}"
    )
    print("| row | arch_str | stored (ms) | now (ms) | now / stored |")
    print("|---:|---|---:|---:|---:|")
    rows = np.unique(np.linspace(0, len(timed) - 1, args.cells).round().astype(int))
    ratios = []
    for row in rows:
        stored = timed.iloc[row]
        arch = space.from_strings([stored["arch_str"]])[0]
        timing = measure.time_network(
            networks.network(setup["space"], arch, setup["dataset"]),
            batch_size=int(setup["batch_size"]),
            warmup=int(setup["warmup"]),
            repeats=int(setup["repeats"]),
        )
        ratios.append(timing.latency_ms / stored["latency_ms"])
        print(
            f"| {row} | `{stored['arch_str']}` | {stored['latency_ms']:.3f} | "
            f"{timing.latency_ms:.3f} | {ratios[-1]:.3f} |"
        )
    ratios = np.asarray(ratios)
    half = len(ratios) // 2
    print(
        f"\nmedian now / stored: first half of the file's order "
        f"{np.median(ratios[:half]):.3f}, second half {np.median(ratios[half:]):.3f}; "
        f"median |difference| {100 * np.median(np.abs(ratios - 1)):.1f}%; load "
        f"average now {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
