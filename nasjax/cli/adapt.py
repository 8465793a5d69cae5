"""``nasjax adapt``: the few-shot latency predictor (:mod:`nasjax.fewshot`) adapted to
a device from a few measured architectures, written as a column file for searches.

The hardware prior is pre-trained on every latency column of the space's table (HELP's
``help/*`` devices, HW-NAS-Bench's ``*_latency`` columns, nasjax's own CPU column;
the shipped tables when there is no data folder), adapted to the measured file, and
the adapted predictor is written as a column file (:mod:`nasjax.data.user`):
NAS-Bench-201, the predicted latency of all 15,625 architectures as a CSV; FBNet, the
additive per-layer cost table as JSON (the predictor is exactly that table).

The same module serves ``nasjax measure --select K`` (:func:`select_archs`: what to
measure) and ``nasjax search --verify N`` (:func:`verify_latency`).
"""

from __future__ import annotations

import pathlib
import time

import numpy as np

from nasjax.cli._common import SEED_MAX, check_outputs, fail, integer, progress
from nasjax.io import dumps_json

COLUMN_SUFFIX = {"nb201": ".csv", "fbnet": ".json"}
# A NAS-Bench-201 prediction below this share of the fastest measured latency is
# raised to it: the additive model can extrapolate to zero or below.
FLOOR_SHARE = 0.1


def add_parser(commands) -> None:
    """Adds ``adapt`` to the ``nasjax`` subcommands."""
    parser = commands.add_parser(
        "adapt",
        help="adapt the few-shot latency predictor to your device's measurements and "
        "write a latency column file for `nasjax search`",
        description="Pre-trains a hardware prior on the latencies of every device in "
        "the space's table, adapts it to a few architectures measured on your device "
        "(`nasjax measure --select 10` picks them) and writes the predicted latency "
        "of the whole space: nb201 a CSV arch_str,latency_ms of all 15,625 "
        "architectures, fbnet a JSON additive per-layer cost table. `nasjax search "
        "--constraint FILE` uses it as the column user/<file stem>_latency.",
    )
    parser.add_argument("--space", choices=tuple(COLUMN_SUFFIX), default="nb201")
    parser.add_argument(
        "--measured",
        required=True,
        metavar="FILE",
        help="your measurements: a `nasjax measure` parquet, or a CSV/parquet with "
        "arch_str and latency_ms columns",
    )
    parser.add_argument(
        "--value-column",
        metavar="COLUMN",
        help="the latency column (ms) of --measured (default latency_ms)",
    )
    parser.add_argument(
        "--holdout",
        type=integer(2, 10**6),
        metavar="N",
        help="hold N measured rows out of the adaptation and report the Spearman rho "
        "of their predicted against measured latency",
    )
    parser.add_argument(
        "--seed", type=integer(0, SEED_MAX), default=0, help="PRNG seed of --holdout"
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the column file: nb201 .csv, fbnet .json",
    )
    parser.add_argument(
        "--data", metavar="DIR", help="data folder (default: $NASJAX_DATA)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


# ------------------------------------------------------------ the prior and K
def hardware_prior(space_name: str, data=None):
    """``(table, prior, columns)``: the space's table and the hardware prior
    pre-trained on every device latency column of it
    (:func:`nasjax.fewshot.latency_columns`) over its rows. Host-side."""
    from nasjax import data as data_module
    from nasjax import fewshot

    table = data_module.load_table(space_name, data)
    columns = fewshot.latency_columns(table)
    return table, fewshot.table_prior(table.space, table, columns), columns


def candidates(space_name: str, table, *, unique: bool = False) -> np.ndarray:
    """``[N, S]`` architectures to choose measurements from: the table's rows whose
    network is measurable (:attr:`nasjax.networks.NetworkFamily.measurable`:
    NAS-Bench-201 every cell with an input-output path, FBNet HELP's sampled
    architectures), with ``unique`` the lowest member of each isomorphism class.

    A cell without such a path computes a constant, which XLA folds away: its
    latency says nothing about what its operations cost.
    """
    from nasjax import networks

    archs = np.asarray(table.archs)
    measurable = networks.find(space_name).measurable
    if measurable is not None:
        archs = archs[np.asarray(measurable(archs))]
    if unique:
        archs = np.unique(np.asarray(table.space.canonical(archs)), axis=0)
    return archs


def select_archs(
    space_name: str, k: int, *, unique: bool = False, data=None, show: bool = True
) -> np.ndarray:
    """``[k, S]``: the architectures :func:`nasjax.fewshot.select` wants measured.

    Greedy, so the first ``k`` of a larger selection are these. Host-side.

    Raises:
        ValueError: ``k`` above the number of candidates.
    """
    from nasjax import data as data_module
    from nasjax import fewshot

    table = data_module.load_table(space_name, data)
    pool = candidates(space_name, table, unique=unique)
    if not 1 <= k <= len(pool):
        raise ValueError(
            f"--select takes 1 to {len(pool)} {space_name} architectures, got {k}"
        )
    with progress(f"choosing {k} architectures to measure", enabled=show):
        columns = fewshot.latency_columns(table)
        prior = fewshot.table_prior(table.space, table, columns)
        rows = np.asarray(fewshot.select(prior, table.space, pool, k))
    return pool[rows]


def additive_costs(adapted, space):
    """The adapted predictor as an :class:`~nasjax.data.AdditiveColumn` (ms): the
    prediction of each single-slot change from the all-first-choice architecture
    (the model is additive, so this is exact). Host-side."""
    from nasjax import fewshot
    from nasjax.data import AdditiveColumn

    num_slots, width = space.num_slots, max(space.num_choices)
    probes = np.zeros((num_slots, width, num_slots), np.int32)
    for slot, choices in enumerate(space.num_choices):
        probes[slot, :choices, slot] = np.arange(choices)
    base = float(fewshot.predict(adapted, space, np.zeros(num_slots, np.int32)))
    per_slot = np.asarray(fewshot.predict(adapted, space, probes), np.float64) - base
    for slot, choices in enumerate(space.num_choices):
        per_slot[slot, choices:] = 0.0
    return AdditiveColumn(per_slot, np.float64(base))


# ---------------------------------------------------------------- the command
def _split_holdout(count: int, holdout: int | None, seed: int):
    if holdout is None:
        return np.arange(count), np.arange(0)
    if count - holdout < 2:
        fail(
            f"--holdout {holdout} leaves {count - holdout} of {count} measured "
            "architectures to adapt to; at least 2 are needed"
        )
    held = np.random.default_rng(seed).permutation(count)
    return np.sort(held[holdout:]), np.sort(held[:holdout])


def run(args) -> int:
    from nasjax import encodings, fewshot, metrics, spaces
    from nasjax.data import user

    suffix = COLUMN_SUFFIX[args.space]
    if pathlib.Path(args.out).suffix.lower() != suffix:
        kind = (
            "a CSV of every architecture" if suffix == ".csv" else "a JSON cost table"
        )
        fail(f"--out for {args.space} is {kind}: a {suffix} file, got {args.out!r}")
    check_outputs((args.out, False, ()))
    seconds = {}
    start = time.perf_counter()
    space = spaces.get(args.space)
    archs, latencies = user.read_latencies(
        args.measured, space, value_column=args.value_column, min_rows=2
    )
    fit, held = _split_holdout(len(archs), args.holdout, args.seed)
    fewshot.check_samples(space, archs[fit], latencies[fit])
    seconds["read"] = time.perf_counter() - start

    show = not args.json
    start = time.perf_counter()
    with progress(
        "pre-training the hardware prior on the table's devices", enabled=show
    ):
        _, prior, columns = hardware_prior(args.space, args.data)
        prior.mean.block_until_ready()
    seconds["pretrain"] = time.perf_counter() - start

    start = time.perf_counter()
    adapted = fewshot.adapt(prior, space, archs[fit], latencies[fit])
    adapted.weights.block_until_ready()
    seconds["adapt"] = time.perf_counter() - start

    start = time.perf_counter()
    floored = 0
    every = encodings.adapter(space).benchmark_archs
    if every is not None:  # a column of every architecture
        everything = every()
        predicted = np.asarray(fewshot.predict(adapted, space, everything), np.float64)
        floor = FLOOR_SHARE * float(latencies[fit].min())
        floored = int(np.sum(predicted < floor))
        predicted = np.maximum(predicted, floor)
        seconds["predict"] = time.perf_counter() - start
        start = time.perf_counter()
        user.write_column_file(args.out, space, archs=everything, latencies=predicted)
    else:
        costs = additive_costs(adapted, space)
        seconds["predict"] = time.perf_counter() - start
        start = time.perf_counter()
        about = {
            "measured": str(args.measured),
            "samples": int(len(fit)),
            "prior_devices": len(columns),
        }
        user.write_column_file(args.out, space, additive=costs, about=about)
    seconds["write"] = time.perf_counter() - start

    prior_scale, isotropic, noise = np.asarray(adapted.hyperparameters).tolist()
    report = {
        "out": args.out,
        "column": user.column_name(args.out),
        "space": args.space,
        "samples": int(len(fit)),
        "prior_devices": len(columns),
        "hyperparameters": {
            "prior_scale": prior_scale,
            "isotropic_std": isotropic,
            "noise_std": noise,
            "log_evidence": float(adapted.log_evidence),
        },
        "floored": floored,
        "seconds": seconds,
        "holdout": None,
    }
    if len(held):
        guess = np.asarray(fewshot.predict(adapted, space, archs[held]), np.float64)
        report["holdout"] = {
            "rows": int(len(held)),
            "spearman": float(metrics.spearman_rho(guess, latencies[held])),
            "median_ratio": float(np.median(latencies[held] / guess)),
        }
    if args.json:
        print(dumps_json(report))
        return 0
    _print_report(report)
    return 0


def _print_report(report: dict) -> None:
    hyper = report["hyperparameters"]
    print(
        f"adapted to {report['samples']} measured architectures with a prior over "
        f"{report['prior_devices']} devices: prior scale {hyper['prior_scale']:g}, "
        f"isotropic std {hyper['isotropic_std']:g}, noise std {hyper['noise_std']:g} "
        f"(type-II ML, log evidence {hyper['log_evidence']:.1f})"
    )
    held = report["holdout"]
    if held is not None:
        print(
            f"held-out {held['rows']} rows: Spearman rho {held['spearman']:.3f}, "
            f"median measured / predicted {held['median_ratio']:.3f}"
        )
    if report["floored"]:
        print(
            f"note: {report['floored']} predictions were below {FLOOR_SHARE:g} x the "
            "fastest measured latency and are raised to it"
        )
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report["seconds"].items())
    print(f"took {steps}")
    print(f"wrote {report['out']}: column {report['column']} for `nasjax search`")


# ------------------------------------------------------------ search --verify
def verify_latency(
    space_name: str,
    dataset: str | None,
    archs: np.ndarray,
    predicted: np.ndarray,
    *,
    limit: float | None = None,
    warmup: int = 3,
    repeats: int = 30,
    show: bool = True,
) -> dict:
    """Times ``archs`` on the local JAX backend and compares with ``predicted``.

    Args:
        space_name: ``"nb201"`` or ``"fbnet"``.
        dataset: the networks' dataset (default the space's).
        archs: ``[N, S]`` architectures.
        predicted: ``[N]`` their predicted latency (ms).
        limit: the latency limit (ms), if any.
        warmup, repeats: as :func:`nasjax.measure.time_network`.
        show: a progress bar on stderr.

    Returns:
        JSON-ready ``{"archs", "predicted_ms", "measured_ms", "spearman" (None below
        2 archs), "median_ratio" (measured / predicted), "limit",
        "share_within_limit" (measured; None without a limit)}``.
    """
    import tqdm

    from nasjax import metrics, networks, spaces
    from nasjax.measure import time_network

    space = spaces.get(space_name)
    archs = np.asarray(archs).reshape(-1, space.num_slots)
    predicted = np.asarray(predicted, np.float64)
    measured = np.array(
        [
            time_network(
                networks.network(space_name, arch, dataset),
                warmup=warmup,
                repeats=repeats,
            ).latency_ms
            for arch in tqdm.tqdm(
                archs, desc="verifying", unit="arch", disable=not show
            )
        ]
    )
    positive = predicted > 0
    return {
        "archs": [space.to_string(a) for a in archs],
        "predicted_ms": predicted.tolist(),
        "measured_ms": measured.tolist(),
        "spearman": float(metrics.spearman_rho(predicted, measured))
        if len(archs) >= 2
        else None,
        "median_ratio": float(np.median(measured[positive] / predicted[positive]))
        if positive.any()
        else None,
        "limit": limit,
        "share_within_limit": None
        if limit is None
        else float(np.mean(measured <= limit)),
    }


def format_verification(verified: dict) -> str:
    """One line summarising :func:`verify_latency`'s result."""
    parts = [f"verified {len(verified['archs'])} architectures on this machine:"]
    if verified["spearman"] is not None:
        parts.append(f"Spearman rho {verified['spearman']:.3f},")
    if verified["median_ratio"] is not None:
        parts.append(f"median measured / predicted {verified['median_ratio']:.3f}")
    if verified["limit"] is not None:
        parts.append(
            f"; {100 * verified['share_within_limit']:.0f}% really meet the limit "
            f"{verified['limit']:g} ms"
        )
    return " ".join(parts).replace(" ;", ";")


# ------------------------------------------------- the search end of the workflow
def apply_user_files(args, table, multi: bool):
    """Reads the user latency files that ``--constraint``, ``--objectives`` or
    ``--device`` of ``nasjax search`` name into ``table`` and rewrites those flags to
    the files' columns (:func:`nasjax.data.user.resolve_column`); column and device
    names are left as they are. Host-side.

    ``--device FILE`` is the latency objective of a multi-objective strategy and,
    with ``--limit``, the constraint, as a device name is.

    Returns:
        The table with the files' columns.

    Raises:
        ValueError: a file that cannot be used (one sentence naming it).
    """
    import sys

    from nasjax import data
    from nasjax.data import user

    read = []
    if args.constraint is not None:
        table, args.constraint = user.resolve_column(table, args.constraint)
        read.append(args.constraint)
    if args.objectives is not None:
        names = []
        for name in args.objectives.split(","):
            table, name = user.resolve_column(table, name.strip())
            names.append(name)
        args.objectives = ",".join(names)
        read.extend(names)
    if args.device is not None and user.looks_like_file(args.device):
        table, column = user.resolve_column(table, args.device)
        accuracy, _ = data.search_columns(args.space, args.dataset)
        if multi and args.objectives is None:
            args.objectives = f"{accuracy},{column}"
        if args.limit is not None and args.constraint is None:
            args.constraint = column
        args.device = None
        read.append(column)
    for column in dict.fromkeys(c for c in read if c.startswith("user/")):
        values = np.asarray(table.values(column))
        known = int(np.sum(np.isfinite(values)))
        if column == args.constraint and not np.any(values <= args.limit):
            continue  # the search refuses the limit in one sentence
        if known < table.num_rows:
            sys.stderr.write(
                f"nasjax: note: {column} has latencies of {known} of "
                f"{table.num_rows} architectures; a search skips the others as "
                "infeasible (`nasjax adapt` predicts them all)\n"
            )
    return table


def check_search_flags(args, multi: bool) -> None:
    """Exits with code 2 on ``nasjax search`` flags of this workflow that cannot work
    (before any work): a latency file for ``agnet-hw`` (its surrogate knows only the
    table's devices), ``--verify`` with nothing to verify."""
    if args.strategy == "agnet-hw" and args.device is not None:
        from nasjax.data import user

        if user.looks_like_file(args.device):
            fail(
                "agnet-hw's surrogate knows only the table's devices; search your "
                "latency file with nsga2 or mo-rea"
            )
    if not args.verify:
        return
    if args.space not in COLUMN_SUFFIX:
        fail(f"--verify times {' or '.join(COLUMN_SUFFIX)} networks, not {args.space}")
    if not multi and args.limit is None:
        fail(
            "--verify compares predicted with measured latency: give --constraint "
            "FILE (or --device) with --limit, or a multi-objective strategy"
        )


def verify_search(args, table, columns, result, multi: bool) -> dict:
    """Times ``--verify N`` architectures a search found and compares them with
    their predicted latency (:func:`verify_latency`). Host-side.

    Multi-objective: the distinct architectures of the front over all seeds, evenly
    spread along it when there are more than N. Single-objective: the N best
    distinct feasible architectures queried over all seeds. The predicted latency is
    the constraint's column, else the first cost objective.

    Raises:
        ValueError: no cost column to compare with.
    """
    import jax.numpy as jnp

    from nasjax import data, pareto

    costs = [c for c in columns.objectives if not data.higher_is_better(c)]
    latency = columns.constraint or (costs[0] if costs else None)
    if latency is None:
        raise ValueError("--verify needs a latency column: a constraint or objective")
    archs = np.asarray(result.archs).reshape(-1, table.space.num_slots)
    queried = np.all(archs >= 0, axis=1)
    if multi:
        values = np.asarray(table.query_many(archs, columns.objectives), np.float64)
        signs = np.array(
            [-1.0 if data.higher_is_better(c) else 1.0 for c in columns.objectives]
        )
        usable = queried & np.all(np.isfinite(values), axis=1)
        front = np.asarray(
            pareto.non_dominated(jnp.asarray(signs * values), jnp.asarray(usable))
        )
        picked = np.unique(archs[front], axis=0)
        order = np.argsort(np.asarray(table.query(picked, latency)), kind="stable")
        picked = picked[order]
        if len(picked) > args.verify:
            spread = np.linspace(0, len(picked) - 1, args.verify).round().astype(int)
            picked = picked[spread]
    else:
        objective = np.asarray(result.objective, np.float64).reshape(-1)
        sign = 1.0 if data.higher_is_better(columns.objectives[0]) else -1.0
        score = np.where(queried & np.isfinite(objective), sign * objective, -np.inf)
        order = np.argsort(-score, kind="stable")
        order = order[np.isfinite(score[order])]
        _, first = np.unique(archs[order], axis=0, return_index=True)
        picked = archs[order[np.sort(first)][: args.verify]]
    predicted = np.asarray(table.query(picked, latency), np.float64)
    verified = verify_latency(
        args.space,
        args.dataset,
        picked,
        predicted,
        limit=columns.limit if latency == columns.constraint else None,
        show=not (args.json or getattr(args, "quiet", False)),
    )
    return {"column": latency, **verified}
