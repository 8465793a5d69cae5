"""``nasjax search``: one strategy for many seeds in one jitted call.

Writes a results JSON and a PNG of the best-so-far curves.
"""

from __future__ import annotations

import io
import pathlib

import numpy as np

from nasjax._io import dumps_json, write_atomic
from nasjax.cli._common import SEED_MAX, check_outputs, fail, integer, progress


def add_parser(commands) -> None:
    """Adds ``search`` to the ``nasjax`` subcommands."""
    from nasjax import data, search

    datasets = sorted(
        {d for s in data.SEARCH_COLUMNS.values() for d in s} | {"cifar10-valid"}
    )
    parser = commands.add_parser(
        "search", help="run a search strategy for many seeds in one jitted call"
    )
    parser.add_argument("--space", default="nb201", choices=sorted(data.SEARCH_COLUMNS))
    parser.add_argument("--dataset", default="cifar10", choices=datasets)
    parser.add_argument(
        "--strategy",
        default="rea",
        choices=sorted(set(search.ALL) - set(search.MULTI_OBJECTIVE)),
    )
    parser.add_argument(
        "--queries", type=integer(1, 10**6), default=100, help="unique queries per seed"
    )
    parser.add_argument(
        "--seeds", type=integer(1, 10**5), default=10, help="seeds, vmapped in one call"
    )
    parser.add_argument(
        "--seed", type=integer(0, SEED_MAX), default=0, help="base PRNG seed"
    )
    parser.add_argument(
        "--batch-size", type=integer(1, 10**4), help="architectures asked per round"
    )
    parser.add_argument("--out", default="results/search", help="output folder")
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


def run(args) -> int:
    import jax

    from nasjax import data, search, spaces

    batch_size = 1 if args.batch_size is None else args.batch_size
    if min(args.queries, args.seeds, batch_size) < 1:
        fail("--queries, --seeds and --batch-size must be positive integers")
    check_outputs((args.out, True, ("results.json", "curves.png")))
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
    write_atomic(out / "results.json", dumps_json(output).encode())
    _plot_curves(output, out / "curves.png")
    if args.json:
        print(dumps_json({"config": output["config"], "final": final, "out": str(out)}))
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
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    write_atomic(path, buffer.getvalue())
