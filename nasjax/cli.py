"""The ``nasjax`` command.

``nasjax data check`` reports what the data folder holds; ``nasjax search`` runs a
strategy for many seeds in one jitted call and writes a results JSON and a PNG of the
best-so-far curves. Bad flags or values exit with code 2 and one sentence.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import sys
import threading
import time

import numpy as np

from nasjax._io import write_atomic

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``nasjax search: <message>``, exit code 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(EXIT_USAGE)


def _fail(message: str):
    sys.stderr.write(f"nasjax: {message}\n")
    sys.exit(EXIT_USAGE)


@contextlib.contextmanager
def progress(message: str, *, enabled: bool = True):
    """Shows ``message`` with a spinner and elapsed seconds on stderr while it runs."""
    if not enabled:
        yield
        return
    done = threading.Event()
    start = time.perf_counter()
    interactive = sys.stderr.isatty()

    def spin():
        for frame in iter(lambda: "|/-\\", None):
            for char in frame:
                if done.wait(0.2):
                    return
                sys.stderr.write(
                    f"\r{char} {message} {time.perf_counter() - start:5.1f}s"
                )
                sys.stderr.flush()

    if interactive:
        thread = threading.Thread(target=spin, daemon=True)
        thread.start()
    else:
        sys.stderr.write(f"{message} ...\n")
    status = "failed"
    try:
        yield
        status = "done"
    finally:
        done.set()
        if interactive:
            thread.join()
        elapsed = time.perf_counter() - start
        end = "\r" if interactive else ""
        sys.stderr.write(f"{end}{message}: {status} after {elapsed:.1f}s\n")


# ------------------------------------------------------------------ data check
def _data_check(args) -> int:
    from nasjax import data

    with progress("checking the data folder", enabled=not args.json):
        report = data.check(args.data)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"data folder: {report['data_dir']}")
    for space, summary in report["spaces"].items():
        print(f"\n{space}: {summary['rows']} rows")
        for file in summary["files"]:
            detail = (
                f"{file['rows']} rows" if file["status"] == "found" else file["message"]
            )
            print(f"  [{file['status']:>7}] {file['name']}: {detail}")
        for name, column in summary["columns"].items():
            if column["count"]:
                print(
                    f"  {name:<36} {column['count']:>6} rows  "
                    f"[{column['min']:.4g}, {column['max']:.4g}]"
                )
            else:
                print(f"  {name:<36}      0 rows")
    missing = [
        f["name"]
        for s in report["spaces"].values()
        for f in s["files"]
        if f["status"] != "found"
    ]
    if missing:
        print(
            f"\nmissing or unreadable: {', '.join(missing)}; see the README's 'Data' "
            "section for where to get each file"
        )
    return 0


# ---------------------------------------------------------------------- search
def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


def _search(args) -> int:
    import jax

    from nasjax import data, search, spaces

    batch_size = 1 if args.batch_size is None else args.batch_size
    if min(args.queries, args.seeds, batch_size) < 1:
        _fail("--queries, --seeds and --batch-size must be positive integers")
    space = spaces.get(args.space)
    objective, report = data.search_columns(args.space, args.dataset)
    strategy_options = (
        {} if args.batch_size is None else {"batch_size": args.batch_size}
    )
    strategy = search.get(args.strategy)(space, **strategy_options)
    with progress("loading the benchmark table", enabled=not args.json):
        table = data.load_table(args.space, args.data, require=(objective, report))
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    with progress(
        f"{args.strategy} on {args.space}/{args.dataset}: {args.seeds} seeds x "
        f"{args.queries} queries in one jit call",
        enabled=not args.json,
    ):
        result = search.run_seeds(
            strategy, table, keys, args.queries, objective=objective, report=report
        )
        result = jax.tree.map(np.asarray, result._replace(state=None))
    final = {
        "best_valid": _summary(result.best_objective[:, -1]),
        "test_of_best_valid": _summary(result.best_objective_report[:, -1]),
        "best_test": _summary(result.best_report[:, -1]),
    }
    sign = 1.0 if data.higher_is_better(objective) else -1.0
    score = np.where(np.isnan(result.objective), -np.inf, sign * result.objective)
    best_archs = result.archs[np.arange(args.seeds), np.argmax(score, axis=1)]
    output = {
        "config": {
            "space": args.space,
            "dataset": args.dataset,
            "strategy": args.strategy,
            "queries": args.queries,
            "seeds": args.seeds,
            "seed": args.seed,
            "batch_size": strategy.batch_size,
            "objective": objective,
            "report": report,
        },
        "labels": {
            "best_valid": f"best {objective} so far (best by validation)",
            "test_of_best_valid": f"{report} of the best-by-validation architecture",
            "best_test": f"best {report} so far (oracle)",
        },
        "final": final,
        "curves": {
            "best_valid": result.best_objective.tolist(),
            "test_of_best_valid": result.best_objective_report.tolist(),
            "best_test": result.best_report.tolist(),
        },
        "best_archs": [
            space.to_string(arch) if made > 0 else None
            for arch, made in zip(best_archs, result.num_queries)
        ],
        "num_queries": result.num_queries.tolist(),
    }
    out = pathlib.Path(args.out)
    write_atomic(out / "results.json", json.dumps(output).encode())
    _plot_curves(output, out / "curves.png")
    if args.json:
        print(json.dumps({"config": output["config"], "final": final, "out": str(out)}))
        return 0
    print(
        f"{args.strategy} on {args.space} {args.dataset}, {args.queries} queries, "
        f"mean ± std over {args.seeds} seeds:"
    )
    for name, label in output["labels"].items():
        print(f"  {label:<62} {final[name]['mean']:.2f} ± {final[name]['std']:.2f}")
    print(f"wrote {out / 'results.json'} and {out / 'curves.png'}")
    return 0


def _plot_curves(output: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = output["config"]
    queries = np.arange(1, config["queries"] + 1)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    panels = (("best_valid",), ("test_of_best_valid", "best_test"))
    for axis, names in zip(axes, panels):
        for name in names:
            curves = np.asarray(output["curves"][name], dtype=np.float64)
            mean, std = np.nanmean(curves, 0), np.nanstd(curves, 0)
            axis.plot(queries, mean, label=output["labels"][name])
            axis.fill_between(queries, mean - std, mean + std, alpha=0.25)
        axis.set_xlabel("queries")
        axis.set_ylabel("accuracy (%)")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.suptitle(
        f"{config['strategy']} on {config['space']} {config['dataset']} "
        f"(mean ± std over {config['seeds']} seeds)"
    )
    figure.tight_layout()
    temporary = path.with_suffix(".tmp.png")
    figure.savefig(temporary, dpi=120)
    plt.close(figure)
    os.replace(temporary, path)


# ----------------------------------------------------------------------- sweep
def _sweep(args) -> int:
    from nasjax import data, sweep

    out = pathlib.Path(args.out)
    if args.summary:
        table = sweep.summarise(out)
        if args.json:
            records = sweep.load_store(out)
            print(json.dumps({"out": str(out), "configs": len(records)}))
        else:
            print(table, end="")
            print(f"wrote {out / 'summary.md'}, hypervolume.png and fronts.png")
        return 0
    spec = {} if args.spec is None else sweep.load_spec(args.spec).to_dict()
    lists = ("strategies", "datasets", "devices", "objectives")
    for name in lists + ("space", "seeds", "seed", "queries", "batch_size", "hv_every"):
        value = getattr(args, name)
        if value is not None:
            spec[name] = [v for v in value.split(",") if v] if name in lists else value
    if args.limits is not None:
        try:
            spec["limits"] = [
                None if v.lower() == "none" else float(v)
                for v in args.limits.split(",")
            ]
        except ValueError:
            _fail(f"--limits takes numbers or 'none', comma-separated: {args.limits!r}")
    spec = sweep.SweepSpec.from_dict(spec)
    configs = spec.configs()
    with progress("loading the benchmark table", enabled=not args.json):
        table = data.load_table(spec.space, args.data)

    def note(message):
        if not args.json:
            sys.stderr.write(message + "\n")

    statuses = sweep.run_sweep(
        spec,
        out,
        table=table,
        progress=lambda message: progress(message, enabled=not args.json),
        skipped=note,
    )
    ran = sum(s["status"] == "ran" for s in statuses)
    if args.json:
        print(json.dumps({"out": str(out), "configs": statuses}))
    else:
        print(
            f"{len(configs)} configurations: {ran} ran, {len(configs) - ran} already "
            f"in {out / sweep.CONFIGS_DIR}; `nasjax sweep --summary --out {out}` "
            "tabulates them"
        )
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from nasjax import data, search

    parser = _Parser(prog="nasjax", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    data_parser = commands.add_parser("data", help="inspect the data folder")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    check = data_commands.add_parser(
        "check", help="which tables were found, rows, coverage, what is missing"
    )
    check.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=_data_check)

    datasets = sorted(
        {d for s in data.SEARCH_COLUMNS.values() for d in s} | {"cifar10-valid"}
    )
    run = commands.add_parser(
        "search", help="run a search strategy for many seeds in one jitted call"
    )
    run.add_argument("--space", default="nb201", choices=sorted(data.SEARCH_COLUMNS))
    run.add_argument("--dataset", default="cifar10", choices=datasets)
    run.add_argument(
        "--strategy",
        default="rea",
        choices=sorted(set(search.ALL) - set(search.MULTI_OBJECTIVE)),
    )
    run.add_argument("--queries", type=int, default=100, help="unique queries per seed")
    run.add_argument("--seeds", type=int, default=10, help="seeds, vmapped in one call")
    run.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    run.add_argument("--batch-size", type=int, help="architectures asked per round")
    run.add_argument("--out", default="results/search", help="output folder")
    run.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.set_defaults(handler=_search)

    sweep = commands.add_parser(
        "sweep",
        help="a stored, resumable grid of searches (strategies x datasets x devices "
        "x limits); --summary tabulates and plots it",
    )
    sweep.add_argument("--spec", help="JSON file with the keys below (flags override)")
    sweep.add_argument("--space", choices=sorted(data.SEARCH_COLUMNS))
    sweep.add_argument("--strategies", help=f"comma-separated: {sorted(search.ALL)}")
    sweep.add_argument("--datasets", help=f"comma-separated: {datasets}")
    sweep.add_argument("--devices", help="comma-separated devices, e.g. edgegpu,raspi4")
    sweep.add_argument("--limits", help="comma-separated latency limits (ms) or none")
    sweep.add_argument("--objectives", help="comma-separated columns (override)")
    sweep.add_argument("--seeds", type=int, help="seeds per configuration")
    sweep.add_argument("--seed", type=int, help="base PRNG seed")
    sweep.add_argument("--queries", type=int, help="unique queries per seed")
    sweep.add_argument("--batch-size", type=int, help="architectures asked per round")
    sweep.add_argument("--hv-every", type=int, help="queries between HV points")
    sweep.add_argument("--summary", action="store_true", help="tabulate the store")
    sweep.add_argument("--out", required=True, help="sweep folder (the store)")
    sweep.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    sweep.add_argument("--json", action="store_true", help="machine-readable output")
    sweep.set_defaults(handler=_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nasjax`` console script."""
    args = build_parser().parse_args(argv)
    from nasjax.data import DataError

    try:
        return args.handler(args)
    except (DataError, ValueError) as error:
        _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
