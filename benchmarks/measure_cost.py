"""Cost and noise of ``nasjax measure`` per NAS-Bench-201 cell on this machine.

For a random sample of isomorphism classes, each cell is compiled and timed twice
(:func:`nasjax.measure.time_network`, two independent compiles): per cell
the compile and measure times, the CV of the repeated timings and how far the two
trimmed means differ. The load average before and after is printed, since the noise
depends on what else runs. Usage:

    python benchmarks/measure_cost.py [--cells 20] [--warmup 3] [--repeats 30]
                                      [--cores LIST]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import jax
import numpy as np

from nasjax import measure, networks
from nasjax.data import measured, nb201


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--device", help="BACKEND[:INDEX] (default: JAX's default)")
    parser.add_argument(
        "--cores", help="pin to these CPU cores (one core: XLA single-threaded)"
    )
    args = parser.parse_args()
    if args.cores is not None:
        try:
            measure.pin_cores(args.cores)
        except ValueError as error:
            parser.error(str(error))

    device = measure.resolve_device(args.device)
    setup = measure.device_setup(device)
    classes = measured.nb201_class_of_benchmark_index()
    first_of_class = np.unique(classes, return_index=True)[1]
    rng = np.random.default_rng(args.seed)
    cells = rng.choice(first_of_class, args.cells, replace=False)
    print(
        f"# {setup['host_cpu']}, {setup['backend']} ({setup['device_kind']}), jax "
        f"{jax.__version__}; NB201 {args.dataset}, batch 1, {args.warmup} warm-up, "
        f"{args.repeats} repeats; load average {os.getloadavg()[0]:.2f}"
    )
    print("| arch_idx | compile (s) | measure (s) | latency (ms) | CV | 2nd run diff |")
    print("|---:|---:|---:|---:|---:|---:|")
    compile_s, measure_s, cvs, diffs, totals = [], [], [], [], []
    for cell in cells:
        arch = nb201.benchmark_archs()[cell]
        start = time.perf_counter()
        first, second = (
            measure.time_network(
                networks.network("nb201", arch, args.dataset),
                warmup=args.warmup,
                repeats=args.repeats,
                device=device,
            )
            for _ in range(2)
        )
        totals.append((time.perf_counter() - start) / 2)
        diff = abs(first.latency_ms - second.latency_ms) / first.latency_ms
        compile_s.append(first.compile_s)
        measure_s.append(first.measure_s)
        cvs.append(first.cv)
        diffs.append(diff)
        print(
            f"| {cell} | {first.compile_s:.2f} | {first.measure_s:.2f} | "
            f"{first.latency_ms:.3f} | {100 * first.cv:.1f}% | {100 * diff:.1f}% |"
        )
    print(
        f"\nper cell: compile {statistics.mean(compile_s):.2f} s + measure "
        f"{statistics.mean(measure_s):.2f} s (wall {statistics.mean(totals):.2f} s "
        f"incl. building the network); median CV {100 * statistics.median(cvs):.1f}%; "
        f"median difference between two runs {100 * statistics.median(diffs):.1f}%; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
