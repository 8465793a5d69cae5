"""AG-Net on NAS-Bench-201 with nasjax: search quality and hardware-aware search.

Usage::

    python experiments/agnet.py [--data DIR] [--out results/agnet] [--seeds 10]
                                [--queries 320] [--sections ab] [--quick]

Writes ``OUT/agnet.md`` and PNG plots atomically; every finished configuration is
stored as ``OUT/runs/<name>.json``, so a killed run resumes where it stopped.

(a) Search on cifar10-valid, cifar100 and ImageNet16-120: the best validation accuracy
    so far and the test accuracy of that best-by-validation model at 16, 32, ..., Q
    queries, for AG-Net with the sequential GNN decoder (the reference's) and with the
    one-shot decoder, BRP-NAS (when ``"brp"`` is a registered strategy), REA and
    random search at the same budget, beside the published AG-Net numbers; anytime
    curves with +- std bands; seconds per configuration.
(b) Hardware-aware AG-Net (``agnet-hw``), Eq. 4 (``joint=1``) and Eq. 5
    (``joint=0``), for every device with latency data, at latency limits set to
    percentiles of the device's latency over the table: the best-by-validation model
    among the queried ones whose latency is within the limit, against the true best
    feasible model of the table. Accuracy of ``hw_dataset``; latency of
    ``data.device_column(table, hw_dataset, device)``, i.e. the dataset's own
    HW-NAS-Bench latency with the full HW-NAS-Bench pickle, else the CIFAR-10 one.

Every configuration runs all its seeds vmapped in one jitted call.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from _report import logger, machine, markdown_table, run_seeds_with_bar

from nasjax import data, search, spaces
from nasjax.io import Store, mean_std, save_figure, write_atomic
from nasjax.search.agnet import DEVICES

log = logger("agnet")
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
METHODS = (
    "agnet",
    "agnet-oneshot",
    "brp",
    "npenas",
    "bananas",
    "local-search",
    "rea",
    "random",
)
LABELS = {
    "agnet": "AG-Net (GNN decoder)",
    "agnet-oneshot": "AG-Net (one-shot decoder)",
    "agnet-vae": "VAE generator (GNN decoder)",
    "brp": "BRP-NAS",
    "npenas": "NPENAS-NP",
    "bananas": "BANANAS",
    "local-search": "local search",
    "rea": "REA",
    "random": "random search",
}
# AG-Net (ECCV 2022), NAS-Bench-201, 192 queries: (validation, test) accuracy.
PUBLISHED = {
    "cifar10": (91.61, 94.37),
    "cifar100": (73.49, 73.51),
    "ImageNet16-120": (46.73, 46.43),
}
PUBLISHED_HW = "ImageNet16-120: validation 46.4, Edge GPU 46.8"


@dataclasses.dataclass(frozen=True)
class Config:
    """What the experiment runs; :func:`get_config` gives the defaults."""

    seeds: int = 10
    seed: int = 0
    queries: int = 320
    datasets: tuple[str, ...] = DATASETS
    methods: tuple[str, ...] = METHODS
    agnet_options: tuple[tuple[str, object], ...] = ()  # extra options for agnet*
    brp_mode: str = "fast"
    brp_seeds: int | None = None  # default: seeds (BRP-NAS is the slowest method)
    hw_dataset: str = "ImageNet16-120"
    hw_devices: tuple[str, ...] = DEVICES
    hw_percentiles: tuple[float, ...] = (10.0, 25.0, 50.0)
    hw_decoder: str = "oneshot"


def get_config(
    *,
    quick: bool = False,
    seeds: int | None = None,
    queries: int | None = None,
    methods: tuple[str, ...] | None = None,
    brp_seeds: int | None = None,
    hw_percentiles: tuple[float, ...] | None = None,
) -> Config:
    """Defaults, or the tiny ``--quick`` setting (a smoke test, minutes)."""
    config = Config()
    if quick:
        config = dataclasses.replace(
            config,
            seeds=2,
            queries=48,
            datasets=("cifar10",),
            methods=("agnet-oneshot", "rea", "random"),
            agnet_options=(
                ("ticks", 3),
                ("num_candidates", 128),
                ("max_chunks", 2),
                ("latent_dim", 8),
                ("node_dim", 8),
                ("hidden", 32),
                ("pretrain_steps", 100),
            ),
            hw_devices=("eyeriss",),
            hw_percentiles=(25.0,),
        )
    if seeds is not None:
        config = dataclasses.replace(config, seeds=seeds)
    if queries is not None:
        config = dataclasses.replace(config, queries=queries)
    if methods is not None:
        config = dataclasses.replace(config, methods=methods)
    if brp_seeds is not None:
        config = dataclasses.replace(config, brp_seeds=brp_seeds)
    if hw_percentiles is not None:
        config = dataclasses.replace(config, hw_percentiles=hw_percentiles)
    return config


def _agnet_options(config: Config) -> dict:
    return {"max_queries": max(config.queries, 16), **dict(config.agnet_options)}


def _strategy(config: Config, method: str, space):
    if method == "agnet":
        return search.agnet(space, **_agnet_options(config))
    if method == "agnet-oneshot":
        return search.agnet(space, decoder="oneshot", **_agnet_options(config))
    if method == "agnet-vae":
        return search.agnet(space, mode="vae", **_agnet_options(config))
    if method == "brp":
        iterations = 5 if config.queries % 5 == 0 else 1
        return search.brp(
            space,
            mode=config.brp_mode,
            budget=config.queries,
            iterations=iterations,
            fit_final=False,
        )
    return search.get(method)(space)


def _seeds(config: Config, method: str) -> int:
    if method == "brp" and config.brp_seeds is not None:
        return config.brp_seeds
    return config.seeds


def _checkpoints(queries: int) -> np.ndarray:
    ends = np.arange(16, queries + 1, 16)
    return ends if ends.size and ends[-1] == queries else np.append(ends, queries)


# ------------------------------------------------------------------ (a) search
def search_section(config: Config, table, space, store: Store, out) -> str:
    import matplotlib.pyplot as plt

    methods = [m for m in config.methods if m != "brp" or "brp" in search.REGISTRY]
    ends = _checkpoints(config.queries)
    records = {}
    for dataset in config.datasets:
        objective, report = data.search_columns("nb201", dataset)
        for method in methods:
            seeds = _seeds(config, method)
            keys = jax.random.split(jax.random.key(config.seed), seeds)

            def compute(method=method, objective=objective, report=report, keys=keys):
                strategy = _strategy(config, method, space)
                start = time.perf_counter()
                result = run_seeds_with_bar(
                    f"{method} on {objective}",
                    strategy,
                    table,
                    keys,
                    config.queries,
                    objective=objective,
                    report=report,
                )
                jax.block_until_ready(result.best_objective)
                seconds = time.perf_counter() - start
                record = {
                    "seconds": seconds,
                    "best_valid": np.asarray(result.best_objective).tolist(),
                    "test_of_best_valid": np.asarray(
                        result.best_objective_report
                    ).tolist(),
                }
                if method.startswith("agnet"):
                    state = result.state
                    filled = np.asarray(state.ids) >= 0
                    record["generated_share"] = float(
                        np.asarray(state.has_latent)[filled].mean()
                    )
                return record

            name = f"a-{dataset}-{method}-r{seeds}-q{config.queries}"
            name += f"-s{config.seed}" + _options_tag(config, method)
            records[dataset, method] = store.get(name, compute)
            record = records[dataset, method]
            if record is not None:
                log(f"(a) {dataset} {method}: {record['seconds']:.0f}s")

    parts = [
        "## (a) Search on NAS-Bench-201",
        "",
        f"{config.seeds} seeds vmapped per configuration"
        + (
            f" ({config.brp_seeds} for BRP-NAS)"
            if config.brp_seeds is not None and "brp" in methods
            else ""
        )
        + f", {config.queries} unique queries. `valid` is the best validation "
        "accuracy so far (the cifar10-valid setting's validation split for cifar10, "
        "x-valid for cifar100 and ImageNet16-120), `test` the "
        "test accuracy of that best-by-validation model; mean ± std over seeds. "
        "AG-Net: Search_Tabular.py's recipe (16 random models, 30 ticks of "
        "weighted retraining, ask the surrogate's top 16 of 100 fresh candidates a "
        "round), generator pretrained once on random cells.",
        "",
    ]
    if "brp" in config.methods and "brp" not in search.REGISTRY:
        parts += ["BRP-NAS is left out: no `brp` strategy is registered.", ""]
    if "brp" in methods:
        parts += [
            f"BRP-NAS: `search.brp(mode={config.brp_mode!r}, budget={config.queries}, "
            "fit_final=False)`, its own iterative rounds (5 when the budget divides "
            "by 5); its curve is in query order.",
            "",
        ]
    figure, axes = plt.subplots(
        2, len(config.datasets), figsize=(5.5 * len(config.datasets), 8), squeeze=False
    )
    for axis, test_axis, dataset in zip(axes[0], axes[1], config.datasets):
        published = PUBLISHED[dataset]
        objective, report = data.search_columns("nb201", dataset)
        optimum = float(np.nanmax(table.values(objective)))
        test_optimum = float(np.nanmax(table.values(report)))
        at = [q for q in (96, 192, config.queries) if q <= config.queries]
        header = ["method"] + [f"valid @{q}" for q in at] + [f"test @{q}" for q in at]
        header += ["s / call", "generated"]
        rows = []
        present = [m for m in methods if records[dataset, m] is not None]
        for method in present:
            record = records[dataset, method]
            valid = np.asarray(record["best_valid"])
            test = np.asarray(record["test_of_best_valid"])
            share = record.get("generated_share")
            rows.append(
                [LABELS.get(method, method)]
                + [mean_std(valid[:, q - 1]) for q in at]
                + [mean_std(test[:, q - 1]) for q in at]
                + [f"{record['seconds']:.0f}", "" if share is None else f"{share:.0%}"]
            )
            steps = np.arange(1, valid.shape[1] + 1)
            for target, values in ((axis, valid), (test_axis, test)):
                mean, std = values.mean(0), values.std(0)
                (line,) = target.plot(steps, mean, label=LABELS.get(method, method))
                target.fill_between(
                    steps, mean - std, mean + std, alpha=0.2, color=line.get_color()
                )
        rows.append(
            ["AG-Net, published (192)"]
            + [f"{published[0]:.2f}" if q == 192 else "" for q in at]
            + [f"{published[1]:.2f}" if q == 192 else "" for q in at]
            + ["", ""]
        )
        for target, best, label in (
            (axis, optimum, "best validation accuracy so far"),
            (test_axis, test_optimum, "test accuracy of the best-by-validation"),
        ):
            target.axhline(best, color="k", ls="--", lw=0.8, label="table optimum")
            target.set_ylim(best - 3, best + 0.3)
            target.set_xlabel("queries")
            target.set_ylabel(label)
            target.set_title(f"NB201 {dataset} (mean ± std over seeds)")
            target.legend(fontsize=7)
        anytime = []
        for q in ends:
            anytime.append(
                [str(q)]
                + [
                    mean_std(np.asarray(records[dataset, m]["best_valid"])[:, q - 1])
                    + " / "
                    + mean_std(
                        np.asarray(records[dataset, m]["test_of_best_valid"])[:, q - 1]
                    )
                    for m in present
                ]
            )
        gaps = []
        for method in present:
            valid = np.asarray(records[dataset, method]["best_valid"])
            q = min(192, config.queries)
            gaps.append(
                f"{LABELS.get(method, method)} {optimum - valid[:, q - 1].mean():.3f}"
            )
        parts += [
            f"### {dataset}",
            "",
            f"Table optimum (validation): {optimum:.2f}. `generated`: share of the "
            "queried models that came from the generator (the rest are the 16 random "
            "ones of round 0 and random fills of rounds with fewer than 16 fresh "
            "candidates).",
            "",
            markdown_table(header, rows),
            "",
            f"Gap of the mean best validation accuracy to the optimum at "
            f"{min(192, config.queries)} queries: {', '.join(gaps)}.",
            "",
            "Anytime, `valid / test` (mean ± std over seeds):",
            "",
            markdown_table(["queries"] + [LABELS.get(m, m) for m in present], anytime),
            "",
        ]
    figure.tight_layout()
    save_figure(figure, out / "search_curves.png")
    parts += ["Curves: `search_curves.png`.", ""]
    return "\n".join(parts)


def _options_tag(config: Config, method: str) -> str:
    if not method.startswith("agnet") or not config.agnet_options:
        return ""
    return "-" + "-".join(f"{k}{v}" for k, v in config.agnet_options)


# ------------------------------------------------------- (b) hardware-aware
def hardware_section(config: Config, table, space, store: Store, out) -> str:
    import matplotlib.pyplot as plt

    keys = jax.random.split(jax.random.key(config.seed), config.seeds)
    objective, report = data.search_columns("nb201", config.hw_dataset)
    valid_all = np.asarray(table.values(objective), np.float64)
    test_all = np.asarray(table.values(report), np.float64)
    rows, skipped, columns_used = [], [], {}
    curves = {}
    for device in config.hw_devices:
        try:
            column = data.device_column(table, config.hw_dataset, device)
        except ValueError:
            skipped.append(device)
            continue
        columns_used[device] = column
        latency_all = np.asarray(table.values(column), np.float64)
        known = np.isfinite(latency_all)
        for percentile in config.hw_percentiles:
            limit = float(np.percentile(latency_all[known], percentile))
            feasible_all = known & (latency_all <= limit)
            best_row = int(np.nanargmax(np.where(feasible_all, valid_all, np.nan)))
            for joint in (1, 0):

                def compute(limit=limit, joint=joint, column=column, device=device):
                    strategy = search.agnet_hw(
                        space,
                        limit=limit,
                        joint=joint,
                        device=device,
                        decoder=config.hw_decoder,
                        **_agnet_options(config),
                    )
                    start = time.perf_counter()
                    result = run_seeds_with_bar(
                        f"agnet-hw on {column}",
                        strategy,
                        table,
                        keys,
                        config.queries,
                        objective=(objective, column),
                        report=report,
                    )
                    jax.block_until_ready(result.objective)
                    return {
                        "seconds": time.perf_counter() - start,
                        "valid": np.asarray(result.objective[..., 0]).tolist(),
                        "latency": np.asarray(result.objective[..., 1]).tolist(),
                        "test": np.asarray(result.report).tolist(),
                    }

                name = (
                    f"b-{config.hw_dataset}-{device}-p{percentile:g}-j{joint}-"
                    f"{config.hw_decoder}-r{config.seeds}-q{config.queries}-"
                    f"s{config.seed}" + _options_tag(config, "agnet")
                )
                record = store.get(name, compute)
                if record is None:
                    continue
                valid = np.asarray(record["valid"], np.float64)
                latency = np.asarray(record["latency"], np.float64)
                test = np.asarray(record["test"], np.float64)
                feasible = np.isfinite(latency) & (latency <= limit)
                score = np.where(feasible & np.isfinite(valid), valid, -np.inf)
                running = np.maximum.accumulate(score, axis=1)
                pick = np.argmax(score, axis=1)
                found = np.isfinite(score.max(axis=1))
                seeds = np.arange(len(pick))
                best_valid = np.where(found, valid[seeds, pick], np.nan)
                best_test = np.where(found, test[seeds, pick], np.nan)
                best_latency = np.where(found, latency[seeds, pick], np.nan)
                curves[device, percentile, joint] = (running, valid_all[best_row])
                rows.append(
                    [
                        device,
                        f"{limit:.3f} (p{percentile:g})",
                        "Eq. 4" if joint else "Eq. 5",
                        mean_std(best_valid),
                        mean_std(best_test),
                        mean_std(best_latency, 3),
                        f"{feasible.mean():.0%}",
                        f"{valid_all[best_row]:.2f} / {test_all[best_row]:.2f}",
                        f"{np.mean(best_valid == valid_all[best_row]):.0%}",
                        f"{record['seconds']:.0f}",
                    ]
                )
                log(
                    f"(b) {device} L={limit:.3f} joint={joint}: "
                    f"{record['seconds']:.0f}s"
                )

    sources = sorted(set(columns_used.values()))
    cifar_latency = any(c.startswith("cifar10/") for c in sources)
    note = (
        f"**Latencies: the HW-NAS-Bench CIFAR-10 ones** (`{'`, `'.join(sources)}`), "
        f"the only HW-NAS-Bench latencies in this data folder, with "
        f"{config.hw_dataset} accuracies; the paper uses the {config.hw_dataset} "
        "latencies. With the full HW-NAS-Bench pickle in the data folder the same "
        "code reads `" + config.hw_dataset + "/{device}_latency`."
        if cifar_latency
        else f"Latencies: `{'`, `'.join(sources)}`."
    )
    parts = [
        "## (b) Hardware-aware search (agnet-hw)",
        "",
        note,
        "",
        f"`{objective}` searched, `{report}` reported; {config.seeds} seeds vmapped, "
        f"{config.queries} unique queries, {config.hw_decoder} decoder, alpha 0.95; "
        "the limit L is the given percentile of the device's latency over the "
        "architectures where it is known (archs with an unknown latency count as "
        "infeasible). Reported model: the best by validation among the queried "
        "models with latency <= L; `optimum` is the best feasible validation "
        "accuracy of the table (and that model's test accuracy); `hit` the share of "
        "seeds that found it. Published AG-Net hardware result for comparison ("
        f"{PUBLISHED_HW}, quoted from the issue).",
        "",
        markdown_table(
            [
                "device",
                "L ms",
                "rank",
                "valid",
                "test",
                "latency",
                "feasible queries",
                "optimum valid / test",
                "hit",
                "s / call",
            ],
            rows,
        ),
        "",
    ]
    if skipped:
        parts += [f"No latency column for: {', '.join(skipped)}.", ""]
    if curves:
        devices = sorted({d for d, _, _ in curves}, key=list(config.hw_devices).index)
        figure, axes = plt.subplots(
            1, len(devices), figsize=(4.5 * len(devices), 3.6), squeeze=False
        )
        for axis, device in zip(axes[0], devices):
            for (d, percentile, joint), (running, optimum) in curves.items():
                if d != device:
                    continue
                # Mean over the seeds that have a feasible model yet (NaN before).
                feasible = np.isfinite(running)
                seeds = feasible.sum(axis=0)
                gap = np.where(feasible, optimum - running, 0.0).sum(axis=0)
                gap = np.where(seeds > 0, gap / np.maximum(seeds, 1), np.nan)
                (line,) = axis.plot(
                    np.arange(1, gap.shape[0] + 1),
                    gap,
                    ls="-" if joint else "--",
                    label=f"p{percentile:g} {'Eq.4' if joint else 'Eq.5'}",
                )
            axis.set_yscale("symlog", linthresh=0.1)
            axis.set_xlabel("queries")
            axis.set_ylabel("optimum - best feasible valid")
            axis.set_title(device)
            axis.legend(fontsize=7)
        save_figure(figure, out / "hardware_gap.png")
        parts += ["Gap to the feasible optimum vs queries: `hardware_gap.png`.", ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------- main
def run_experiment(
    config: Config,
    data_dir,
    out: pathlib.Path,
    sections: str = "ab",
    stored_only: bool = False,
) -> pathlib.Path:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    table = data.load_table("nb201", data_dir)
    space = spaces.nb201()
    store = Store(out / "runs", stored_only=stored_only)
    log(f"{config}")
    parts = [
        "# AG-Net on NAS-Bench-201 (nasjax)",
        "",
        f"Configuration: {config.seeds} seeds (seed {config.seed}), "
        f"{config.queries} queries; AG-Net options "
        f"{dict(config.agnet_options) or 'the defaults'}.",
        "",
    ]
    if "a" in sections:
        parts.append(search_section(config, table, space, store, out))
    if "b" in sections:
        parts.append(hardware_section(config, table, space, store, out))
    elapsed = time.perf_counter() - start
    parts += [
        "## Wall time",
        "",
        f"{elapsed:.0f} s for this call (configurations already stored are read, "
        f"not rerun) on {machine()}.",
        "",
    ]
    path = out / "agnet.md"
    write_atomic(path, "\n".join(parts).encode())
    log(f"wrote {path} in {elapsed:.0f}s")
    return path


def main(argv: list[str] | None = None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (or $NASJAX_DATA)")
    parser.add_argument("--out", default="results/agnet", type=pathlib.Path)
    parser.add_argument("--seeds", type=int, default=None, help="default 10")
    parser.add_argument("--queries", type=int, default=None, help="default 320")
    parser.add_argument("--sections", default="ab", help="a, b or ab (default)")
    parser.add_argument(
        "--methods", help=f"comma-separated, of {', '.join(LABELS)} (default: all)"
    )
    parser.add_argument(
        "--brp-seeds", type=int, help="seeds of BRP-NAS (default: --seeds)"
    )
    parser.add_argument(
        "--hw-percentiles",
        help="latency limits of (b) as percentiles of each device's latencies, "
        "comma-separated (default 10,25,50)",
    )
    parser.add_argument(
        "--stored-only",
        action="store_true",
        help="tabulate the stored configurations only, run nothing",
    )
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test setting")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be a positive integer")
    if args.queries is not None and args.queries < 16:
        parser.error("--queries must be at least 16")
    if not set(args.sections) <= set("ab") or not args.sections:
        parser.error("--sections takes a, b or ab")
    methods = None
    if args.methods:
        methods = tuple(args.methods.split(","))
        if not set(methods) <= set(LABELS):
            parser.error(f"--methods takes names of {', '.join(LABELS)}")
    if args.brp_seeds is not None and args.brp_seeds < 1:
        parser.error("--brp-seeds must be a positive integer")
    hw_percentiles = None
    if args.hw_percentiles is not None:
        try:
            hw_percentiles = tuple(float(p) for p in args.hw_percentiles.split(","))
        except ValueError:
            hw_percentiles = ()
        if not hw_percentiles or not all(0 < p <= 100 for p in hw_percentiles):
            parser.error("--hw-percentiles takes numbers in (0, 100], e.g. 10,50")
    config = get_config(
        quick=args.quick,
        seeds=args.seeds,
        queries=args.queries,
        methods=methods,
        brp_seeds=args.brp_seeds,
        hw_percentiles=hw_percentiles,
    )
    return run_experiment(config, args.data, args.out, args.sections, args.stored_only)


if __name__ == "__main__":
    main()
