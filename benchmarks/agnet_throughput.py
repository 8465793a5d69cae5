"""Time per AG-Net trial (320 unique queries) on NAS-Bench-201, 1 to N vmapped trials.

Each configuration (decoder x seeds) runs in a fresh subprocess, so its peak memory is
its own: the process's peak resident set (``ru_maxrss``) and, on an accelerator, the
device's ``peak_bytes_in_use``. The trials of a configuration are one jitted call
(``run_seeds``); compile time is measured apart (ahead-of-time ``lower().compile()``)
and the run is timed once (a trial is long; there is no warm-up run to discount).
The generator's shared pretraining runs before and is reported apart. Usage::

    NASJAX_DATA=../shared/data python benchmarks/agnet_throughput.py \\
        [--decoders gnn oneshot] [--seeds 1 16 100] [--queries 320]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time


def one(decoder: str, num_seeds: int, queries: int, dataset: str, data_dir) -> dict:
    """Runs one configuration in this process; returns its figures."""
    import jax

    from nasjax import data, search, spaces

    space = spaces.nb201()
    objective, report = data.search_columns("nb201", dataset)
    table = data.load_table("nb201", data_dir, require=(objective, report))
    start = time.perf_counter()
    strategy = search.agnet(space, decoder=decoder, max_queries=queries)
    pretrain = time.perf_counter() - start
    keys = jax.random.split(jax.random.key(0), num_seeds)

    def trials(keys):
        return search.run_seeds(
            strategy, table, keys, queries, objective=objective, report=report
        )

    start = time.perf_counter()
    compiled = jax.jit(trials).lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - start
    figures = {
        "decoder": decoder,
        "seeds": num_seeds,
        "pretrain_s": pretrain,
        "compile_s": compile_s,
        "run_s": run_s,
        "min_queries": int(result.num_queries.min()),
        "best_valid": float(result.best_objective[:, -1].mean()),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": f"{jax.devices()[0].platform} ({jax.devices()[0].device_kind})",
    }
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        figures["peak_device_mib"] = stats["peak_bytes_in_use"] / 2**20
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decoders", nargs="+", default=["gnn", "oneshot"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 16, 100])
    parser.add_argument("--queries", type=int, default=320)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument(
        "--one", nargs=2, metavar=("DECODER", "SEEDS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.one:
        figures = one(
            args.one[0], int(args.one[1]), args.queries, args.dataset, args.data
        )
        print(json.dumps(figures))
        return

    print(
        f"# {platform.processor() or platform.machine()}; NB201 {args.dataset}, "
        f"{args.queries} unique queries per trial; each row a fresh process"
    )
    print(
        "| decoder | trials | pretrain (s) | compile (s) | run (s) | s / trial | "
        "peak RSS (MiB) | peak device (MiB) | best valid |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for decoder in args.decoders:
        for num_seeds in args.seeds:
            command = [sys.executable, __file__, "--one", decoder, str(num_seeds)]
            command += ["--queries", str(args.queries), "--dataset", args.dataset]
            if args.data:
                command += ["--data", args.data]
            output = subprocess.run(command, capture_output=True, text=True)
            if output.returncode:
                print(f"| {decoder} | {num_seeds} | failed: {output.stderr[-300:]!r} |")
                continue
            f = json.loads(output.stdout.strip().splitlines()[-1])
            assert f["min_queries"] == args.queries, "a trial stopped early"
            print(
                f"| {decoder} | {num_seeds} | {f['pretrain_s']:.1f} | "
                f"{f['compile_s']:.1f} | {f['run_s']:.1f} | "
                f"{f['run_s'] / num_seeds:.2f} | {f['peak_rss_mib']:.0f} | "
                f"{f.get('peak_device_mib', float('nan')):.0f} | "
                f"{f['best_valid']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
