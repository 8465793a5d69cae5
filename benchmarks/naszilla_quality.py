"""Search quality of local search, BANANAS and NPENAS on NAS-Bench-201, over seeds.

Runs each method's default settings (the papers', see their docstrings) on the
NAS-Bench-201 tables of the data folder, all seeds of a method and dataset in one
vmapped call, and prints a markdown table of the best validation accuracy and the
test accuracy of the best-by-validation model at some query counts (mean ± std over
seeds), beside the published numbers. The searched column is the validation accuracy
of the papers' setting (cifar10-valid's validation split for CIFAR-10, x-valid for
CIFAR-100 and ImageNet16-120, mean over the benchmark's seeds), the test accuracy
its ``ori-test`` mean. Results go to a JSON file written atomically after each method
and dataset; a rerun resumes from it::

    NASJAX_DATA=../shared/data python benchmarks/naszilla_quality.py \\
        [--seeds 20] [--queries 300] [--methods local-search,bananas,...] \\
        [--datasets cifar10,cifar100,ImageNet16-120] [--out quality.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import jax
import numpy as np

from nasjax import data, search
from nasjax.io import dumps_json, mean_std, write_atomic

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
METHODS = ("local-search", "bananas", "npenas", "rea", "random")
CHECKPOINTS = (100, 150, 200, 300)


def run_method(method: str, dataset: str, table, space, seeds: int, queries: int):
    objective, report = data.search_columns("nb201", dataset)
    strategy = search.get(method)(space)
    keys = jax.random.split(jax.random.key(0), seeds)
    start = time.perf_counter()
    result = search.run_seeds(
        strategy, table, keys, queries, objective=objective, report=report
    )
    jax.block_until_ready(result.best_objective)
    return {
        "seconds": time.perf_counter() - start,
        "best_valid": np.asarray(result.best_objective).tolist(),
        "test_of_best_valid": np.asarray(result.best_objective_report).tolist(),
        "load_after": os.getloadavg()[0],
    }


def table_markdown(records: dict, optima: dict, queries: int) -> str:
    """Test accuracy of the best-by-validation model at checkpoints, the best
    validation accuracy, and how many seeds found the table's validation optimum
    (with the mean number of queries they needed)."""
    at = [q for q in CHECKPOINTS if q <= queries]
    header = ["dataset", "method"] + [f"test @{q}" for q in at]
    header += [f"valid @{at[-1]}", "optimum found (queries)", "s / call"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, record in records.items():
        dataset, method = name.split("/")
        test = np.asarray(record["test_of_best_valid"], np.float64)
        valid = np.asarray(record["best_valid"], np.float64)
        found = np.isclose(valid, optima[dataset])
        first = np.argmax(found, axis=1)[found.any(axis=1)] + 1
        reached = f"{first.size}/{len(valid)}"
        if first.size:
            reached += f" ({first.mean():.0f})"
        lines.append(
            "| "
            + " | ".join(
                [dataset, method]
                + [mean_std(test[:, q - 1]) for q in at]
                + [mean_std(valid[:, at[-1] - 1]), reached, f"{record['seconds']:.0f}"]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("NASJAX_DATA"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--out", default="naszilla_quality.json")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    datasets = args.datasets.split(",")
    unknown = sorted(set(methods) - set(search.REGISTRY)) + sorted(
        set(datasets) - set(DATASETS)
    )
    if unknown or args.seeds < 1 or args.queries < 1:
        print(
            f"error: bad --methods/--datasets/--seeds/--queries {unknown}",
            file=sys.stderr,
        )
        return 2
    try:
        table = data.load_table("nb201", args.data)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    records = json.loads(out.read_text()) if out.exists() else {}
    print(f"load before: {os.getloadavg()}", flush=True)
    for dataset in datasets:
        for method in methods:
            name = f"{dataset}/{method}"
            if name in records and len(records[name]["best_valid"]) == args.seeds:
                continue
            records[name] = run_method(
                method, dataset, table, table.space, args.seeds, args.queries
            )
            write_atomic(out, dumps_json(records).encode())
            print(f"{name}: {records[name]['seconds']:.0f}s", flush=True)
    print(f"load after: {os.getloadavg()}")
    optima = {
        dataset: float(
            np.nanmax(table.values(data.search_columns("nb201", dataset)[0]))
        )
        for dataset in {name.split("/")[0] for name in records}
    }
    print(table_markdown(records, optima, args.queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
