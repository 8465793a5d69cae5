"""``nasjax search``: one strategy for many seeds in one jitted call.

A single-objective strategy (optionally under ``--constraint COLUMN --limit L``, or a
``--device`` latency ``--limit``) writes a results JSON and a PNG of the best-so-far
curves. A multi-objective one (``nsga2``, ``mo-rea``, ``agnet-hw``) searches accuracy
against a ``--device``'s latency (or ``--objectives COL,COL``), prints the front found
over all seeds and its hypervolume against the table's exact front, and writes
``front.csv``, ``results.json`` and ``front.png``.
"""

from __future__ import annotations

import csv
import io
import math
import pathlib
from typing import NamedTuple

import numpy as np

from nasjax.cli._common import SEED_MAX, check_outputs, fail, integer, progress
from nasjax.io import dumps_json, save_figure, write_atomic


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
        choices=sorted(search.REGISTRY),
        help="multi-objective: "
        + ", ".join(n for n, e in search.REGISTRY.items() if e.num_objectives > 1)
        + " (need --device "
        "or --objectives)",
    )
    parser.add_argument(
        "--device",
        help="a device (edgegpu, raspi4, ..., a HELP device, or your device's latency "
        "file for nsga2/mo-rea): its latency is the second objective of a "
        "multi-objective strategy, or with --limit the constraint of a "
        "single-objective one",
    )
    parser.add_argument(
        "--objectives",
        help="COL,COL: the columns a multi-objective strategy searches "
        "(default: the dataset's accuracy and the --device latency)",
    )
    parser.add_argument(
        "--constraint",
        help="a column that must stay within --limit (a cost column), or your "
        "device's latency file (from `nasjax adapt`, or measured)",
    )
    parser.add_argument(
        "--limit",
        type=float,
        help="bound of --constraint (or of the --device latency): at most L for a "
        "cost, at least L for an accuracy",
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
    parser.add_argument(
        "--data",
        help="data folder (default: $NASJAX_DATA; none: the tables shipped in nasjax)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--verify",
        type=integer(1, 1000),
        metavar="N",
        help="time N architectures found (the front, or the best feasible) on this "
        "machine's JAX backend and report predicted against measured latency and the "
        "share that really meets --limit",
    )
    parser.set_defaults(handler=run)


def _summary(values: np.ndarray) -> dict:
    return {"mean": float(np.nanmean(values)), "std": float(np.nanstd(values))}


class Columns(NamedTuple):
    """The columns a search uses, resolved against the table."""

    objectives: tuple[str, ...]  # told to the strategy (one, or M >= 2)
    report: str  # reported alongside (test accuracy)
    constraint: str | None
    limit: float | None


def _check_flags(args, multi: bool) -> None:
    """Exits with code 2 on flags that cannot go together (before any work)."""
    if multi and args.device is None and args.objectives is None:
        fail(
            f"--strategy {args.strategy} is multi-objective: give --device (accuracy "
            "against that device's latency) or --objectives COL,COL"
        )
    if not multi and args.objectives is not None:
        fail("--objectives is for multi-objective strategies (nsga2, mo-rea, agnet-hw)")
    if args.objectives is not None and len(args.objectives.split(",")) < 2:
        fail(
            "--objectives takes two or more comma-separated columns: "
            f"{args.objectives!r}"
        )
    if args.constraint is not None and args.limit is None:
        fail("--constraint needs --limit")
    if args.limit is not None and args.constraint is None and args.device is None:
        fail("--limit needs --constraint COLUMN or --device")
    if args.limit is not None and not math.isfinite(args.limit):
        fail(f"--limit must be a finite number, got {args.limit}")


def resolve_columns(args, table, multi: bool) -> Columns:
    """The search's columns from the flags and the table.

    Raises:
        ValueError: an unknown column or device (the message lists the choices), or
            a limit that leaves no architecture feasible.
    """
    from nasjax import data

    accuracy, report = data.search_columns(args.space, args.dataset)
    latency = None
    if args.device is not None:
        latency = data.device_column(table, args.dataset, args.device)
    if args.objectives is not None:
        objectives = tuple(c.strip() for c in args.objectives.split(","))
    elif multi:
        objectives = (accuracy, latency)
    else:
        objectives = (accuracy,)
    constraint = args.constraint
    if constraint is None and args.limit is not None:
        constraint = latency
    for column in (*objectives, report) + ((constraint,) if constraint else ()):
        if column not in table.columns:
            raise ValueError(
                f"unknown column {column!r}; choose from "
                f"{', '.join(table.column_names)}"
            )
    if constraint is not None:
        values = np.asarray(table.values(constraint), dtype=np.float64)
        if not data.within_limit(values, constraint, args.limit).any():
            known = values[~np.isnan(values)]
            raise ValueError(
                f"--limit {args.limit:g} on {constraint} leaves no feasible "
                "architecture; choose a limit in "
                f"[{known.min():.4g}, {known.max():.4g}]"
            )
    return Columns(objectives, report, constraint, args.limit)


def run(args) -> int:
    import jax

    from nasjax import _progress, data, search, spaces
    from nasjax.cli import adapt

    multi = search.entry(args.strategy).num_objectives > 1
    _check_flags(args, multi)
    adapt.check_search_flags(args, multi)
    names = (
        ("results.json", "front.csv", "front.png")
        if multi
        else (
            "results.json",
            "curves.png",
        )
    )
    check_outputs((args.out, True, names))
    space = spaces.get(args.space)
    data.search_columns(args.space, args.dataset)  # names the valid datasets
    options = {}
    if args.strategy == "agnet-hw":
        options["num_objectives"] = (
            len(args.objectives.split(",")) if args.objectives else 2
        )
        if args.device is not None:
            options["device"] = args.device
    strategy = search.entry(args.strategy).make(
        space, batch_size=args.batch_size, **options
    )
    quiet = args.json or args.quiet
    with progress("loading the benchmark table", enabled=not quiet):
        table = data.load_table(args.space, args.data)
    table = adapt.apply_user_files(args, table, multi)  # a FILE for a column
    columns = resolve_columns(args, table, multi)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    description = (
        f"{args.strategy} on {args.space}/{args.dataset}, {args.seeds} seeds x "
        f"{args.queries} queries in one jit call"
    )
    with _progress.Bar(args.seeds * args.queries, description, enabled=not quiet):
        result = search.run_sharded(
            strategy,
            table,
            keys,
            args.queries,
            objective=columns.objectives if multi else columns.objectives[0],
            report=columns.report,
            constraint=columns.constraint,
            limit=columns.limit,
            progress=not quiet,
        )
    config = {
        "space": args.space,
        "dataset": args.dataset,
        "strategy": args.strategy,
        "queries": args.queries,
        "seeds": args.seeds,
        "seed": args.seed,
        "batch_size": strategy.batch_size,
        "objectives": list(columns.objectives),
        "objective": columns.objectives[0],
        "report": columns.report,
        "constraint": columns.constraint,
        "limit": columns.limit,
        "device": args.device,
    }
    out = pathlib.Path(args.out)
    if args.verify:
        config["verify"] = adapt.verify_search(args, table, columns, result, multi)
    if multi:
        code = _finish_multi(args, config, table, columns, result, out)
    else:
        code = _finish_single(args, config, space, columns, result, out)
    if args.verify and not args.json:
        print(adapt.format_verification(config["verify"]))
    return code


def _finish_single(args, config, space, columns: Columns, result, out) -> int:
    from nasjax import data, sweep

    objective, report = columns.objectives[0], columns.report
    record = sweep.search_record(result, objective, report)
    final = {
        "best_valid": _summary(result.best_objective[:, -1]),
        "test_of_best_valid": _summary(result.best_objective_report[:, -1]),
        "best_test": _summary(result.best_report[:, -1]),
    }
    sign = 1.0 if data.higher_is_better(objective) else -1.0
    score = np.where(np.isnan(result.objective), -np.inf, sign * result.objective)
    best_archs = result.archs[np.arange(args.seeds), np.argmax(score, axis=1)]
    output = {
        "config": config,
        "labels": record["labels"],
        "final": final,
        "curves": record["curves"],
        "best_archs": [
            space.to_string(arch) if made > 0 else None
            for arch, made in zip(best_archs, result.num_queries)
        ],
        "num_queries": record["num_queries"],
    }
    write_atomic(out / "results.json", dumps_json(output).encode())
    _plot_curves(output, out / "curves.png")
    if args.json:
        print(dumps_json({"config": config, "final": final, "out": str(out)}))
        return 0
    bound = (
        f" with {columns.constraint} within {columns.limit:g}"
        if columns.constraint
        else ""
    )
    print(
        f"{args.strategy} on {args.space} {args.dataset}{bound}, {args.queries} "
        f"queries, mean ± std over {args.seeds} seeds:"
    )
    for name, label in output["labels"].items():
        print(f"  {label:<62} {final[name]['mean']:.2f} ± {final[name]['std']:.2f}")
    print(f"wrote {out / 'results.json'} and {out / 'curves.png'}")
    return 0


def _finish_multi(args, config, table, columns: Columns, result, out) -> int:
    from nasjax import _plots, pareto, sweep

    front_columns = columns.objectives
    record = sweep.hypervolume_record(
        table,
        result.archs,
        front_columns,
        hv_every=max(1, math.ceil(args.queries / 100)),
        constraint=columns.constraint,
        limit=columns.limit,
    )
    # The front over all seeds: the non-dominated points of every seed's queries.
    archs = result.archs.reshape(1, -1, result.archs.shape[-1])  # [1, R * Q, S]
    union = pareto.analyse(
        table,
        archs,
        front_columns,
        ends=[archs.shape[1]],
        constraint=columns.constraint,
        limit=columns.limit,
    )
    union_hv = float(union.curves[0, 0])
    raw, on_front, archs = union.values[0], union.on_front[0], archs[0]
    found = _unique_front(archs[on_front], raw[on_front], front_columns)
    found_archs = np.stack([arch for arch, _ in found])[None]  # [1, F, S]
    reported = pareto.lookup_values(table, found_archs, (columns.report,))[0, :, 0]
    disconnected = _plots.degenerate(table.space, found_archs[0])
    front = [
        {
            "arch": table.space.to_string(arch),
            **{c: float(v) for c, v in zip(front_columns, values)},
            columns.report: float(r),
            "disconnected": bool(bad),
        }
        for (arch, values), r, bad in zip(found, reported, disconnected)
    ]
    table_hv = record["table_hv"]
    per_seed = np.asarray(record["final"], dtype=np.float64)
    summary = {
        "front_hypervolume": union_hv,
        "table_hypervolume": table_hv,
        "front_share": union_hv / table_hv,
        "seed_hypervolume": _summary(per_seed),
        "seed_share": _summary(per_seed / table_hv),
    }
    output = {
        "config": config,
        "summary": summary,
        "front": front,
        "hypervolume": record,
    }
    write_atomic(out / "results.json", dumps_json(output).encode())
    _write_front_csv(out / "front.csv", front)
    _plot_front(output, table, out / "front.png")
    if args.json:
        print(
            dumps_json(
                {"config": config, "summary": summary, "front": front, "out": str(out)}
            )
        )
        return 0
    bound = (
        f", {columns.constraint} within {columns.limit:g}" if columns.constraint else ""
    )
    print(
        f"{args.strategy} on {args.space} {args.dataset}: {' vs '.join(front_columns)}"
        f"{bound}, {args.queries} queries x {args.seeds} seeds"
    )
    print(f"front over all seeds ({len(front)} architectures):")
    width = max(len(row["arch"]) for row in front)
    header = "".join(f"{_short(c):>16}" for c in (*front_columns, columns.report))
    print(f"  {'architecture':<{width}}{header}")
    for row in front:
        values = "".join(f"{row[c]:>16.4g}" for c in (*front_columns, columns.report))
        note = "  (no input-output path)" if row["disconnected"] else ""
        print(f"  {row['arch']:<{width}}{values}{note}")
    print(
        f"hypervolume (objectives normalised to [0, 1] by the table's best and worst, "
        f"reference (1, ..., 1)): front over all seeds {union_hv:.4f} = "
        f"{100 * summary['front_share']:.2f}% of the table's exact front "
        f"({table_hv:.4f}); per seed {per_seed.mean():.4f} ± {per_seed.std():.4f} "
        f"({100 * summary['seed_share']['mean']:.2f}% ± "
        f"{100 * summary['seed_share']['std']:.2f}%)"
    )
    print(f"wrote {out / 'front.csv'}, {out / 'results.json'} and {out / 'front.png'}")
    return 0


def _short(column: str) -> str:
    """``cifar100/valid_acc`` -> ``valid_acc``; the dataset is in the title."""
    return column.rsplit("/", 1)[-1][:15]


def _unique_front(archs, values, columns) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(arch, values)`` of each distinct architecture, by the first cost column
    ascending (then the first column descending)."""
    from nasjax import data

    _, first = np.unique(archs, axis=0, return_index=True)
    cost = next((k for k, c in enumerate(columns) if not data.higher_is_better(c)), 0)
    order = sorted(first, key=lambda i: (values[i, cost], -values[i, 0]))
    return [(archs[i], values[i]) for i in order]


def _write_front_csv(path: pathlib.Path, front: list[dict]) -> None:
    buffer = io.StringIO()
    if front:
        writer = csv.DictWriter(buffer, fieldnames=list(front[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(front)
    write_atomic(path, buffer.getvalue().encode())


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
    save_figure(figure, path, tight=False)


def _plot_front(output: dict, table, path: pathlib.Path) -> None:
    """Accuracy against cost: the table, its exact front, the front found."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nasjax import _plots, data

    config, record = output["config"], output["hypervolume"]
    columns = record["columns"][:2]
    cost = 0 if not data.higher_is_better(columns[0]) else 1
    x_column, y_column = columns[cost], columns[1 - cost]
    values = np.stack(
        [np.asarray(table.values(c), dtype=np.float64) for c in (x_column, y_column)],
        axis=-1,
    )
    known = np.all(np.isfinite(values), axis=1)
    bad = _plots.degenerate(table.space, np.asarray(table.archs)) & known
    exact = np.asarray(record["table_front"], dtype=np.float64)[:, [cost, 1 - cost]]
    found = np.array(
        [[row[x_column], row[y_column]] for row in output["front"]], dtype=np.float64
    ).reshape(-1, 2)
    summary = output["summary"]
    figure, axis = plt.subplots(figsize=(7.5, 5))
    _plots.plot_front(
        axis,
        table_xy=values[known & ~bad],
        excluded=int(bad.sum()),
        exact=exact,
        found={f"front found over all {config['seeds']} seeds ({len(found)})": found},
        x_label=f"{x_column} (ms)" if x_column.endswith("latency") else x_column,
        y_label=f"{y_column} (%)" if "acc" in y_column else y_column,
    )
    axis.set_title(
        f"{config['strategy']} on {config['space']} {config['dataset']}, "
        f"{config['seeds']} seeds x {config['queries']} queries: hypervolume "
        f"{100 * summary['front_share']:.1f}% of the exact front's",
        fontsize=9,
    )
    figure.tight_layout()
    save_figure(figure, path, tight=False)
