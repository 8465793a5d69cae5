"""BRP-NAS on NAS-Bench-201 with nasjax: search, predictor quality, latency predictors.

Usage::

    python experiments/brpnas.py [--data DIR] [--out results/brpnas] [--seeds 10]
                                 [--mode fast|faithful] [--sections abc]
                                 [--datasets cifar100,...] [--stored-only] [--quick]

Writes ``OUT/brpnas.md`` and PNG plots atomically; every finished configuration is
stored as ``OUT/runs/<name>.json``, so a killed run resumes where it stopped.

(a) Search with 100 queries on cifar10-valid, cifar100 and ImageNet16-120: the test
    accuracy of the best-by-validation model and the best test seen, for BRP-NAS
    (iterative data selection, binary predictor), REA and random search with the same
    budget, beside the published BRP-NAS numbers. BRP searches skip the predictor
    training after the last round (it does not change the queried models).
(b) Predictor quality: binary (BRP) vs unary (L1) GCN trained on 25 / 50 / 100
    models picked at random or by iterative selection; Kendall tau on the rest of the
    space (cifar100 validation accuracy).
(c) Latency predictors: a unary GCN on 900 architectures (100 more monitored, as
    eagle) per HW-NAS-Bench and HELP device; the share of the other architectures
    whose latency lies within +-10% of the prediction, Spearman rho and Kendall tau,
    beside the published BRP-NAS correlations.
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

from nasjax import data, metrics, search, spaces, surrogates
from nasjax.io import Store, mean_std, save_figure, write_atomic

log = logger("brpnas")

DATASETS = ("cifar10-valid", "cifar100", "ImageNet16-120")
# Dudziak et al. 2020, Table 3 (NAS-Bench-201, 100 queried models): (val, test).
PUBLISHED_SEARCH = {
    "cifar10-valid": (91.19, 94.05),
    "cifar100": (72.15, 72.34),
    "ImageNet16-120": (46.15, 46.39),
}
# Dudziak et al. 2020, latency predictors with 900 training samples: rank correlation.
PUBLISHED_LATENCY = {
    "help/titan_rtx_256": ("Titan RTX, batch 256", 0.814),
    "help/gold_6226": ("Xeon Gold 6226", 0.796),
    "help/pixel2": ("Pixel 2", 0.666),
    "cifar10/raspi4_latency": ("Raspberry Pi 4", 0.847),
    "cifar10/eyeriss_latency": ("Eyeriss", 0.811),
    "cifar10/fpga_latency": ("FPGA", 0.801),
}
# Devices with latency data here but no published BRP-NAS figure: column -> name.
OTHER_LATENCY = {
    "cifar10/edgegpu_latency": "Edge GPU (Jetson TX2)",
    "cifar10/edgetpu_latency": "Edge TPU",
    "cifar10/pixel3_latency": "Pixel 3",
    "help/1080ti_1": "GTX 1080 Ti, batch 1",
    "help/samsung_s7": "Samsung S7",
}


@dataclasses.dataclass(frozen=True)
class Config:
    """What the experiment runs; :func:`get_config` gives the defaults."""

    seeds: int = 10
    seed: int = 0
    mode: str = "fast"
    datasets: tuple[str, ...] = DATASETS
    queries: int = 100
    baselines: tuple[str, ...] = ("local-search", "bananas", "npenas", "rea", "random")
    quality_dataset: str = "cifar100"
    quality_sizes: tuple[int, ...] = (25, 50, 100)
    quality_seeds: int = 3
    latency_columns: tuple[str, ...] = (*PUBLISHED_LATENCY, *OTHER_LATENCY)
    latency_train: int = 900
    latency_validation: int = 100
    latency_epochs: int = 100
    brp_epochs: int = 250
    hidden: int = 600


def get_config(
    *, quick=False, seeds=None, mode=None, quality_sizes=None, datasets=None
) -> Config:
    """The defaults, or the tiny ``--quick`` setting (a smoke test, minutes);
    ``datasets`` restricts section (a) to some of :data:`DATASETS`."""
    config = Config()
    if quick:
        config = Config(
            seeds=2,
            datasets=("cifar100",),
            queries=20,
            baselines=("random",),
            quality_sizes=(10,),
            quality_seeds=1,
            latency_columns=("cifar10/eyeriss_latency",),
            latency_train=60,
            latency_validation=20,
            latency_epochs=3,
            brp_epochs=4,
            hidden=16,
        )
    if seeds is not None:
        config = dataclasses.replace(config, seeds=seeds)
    if mode is not None:
        config = dataclasses.replace(config, mode=mode)
    if quality_sizes is not None:
        config = dataclasses.replace(config, quality_sizes=quality_sizes)
    if datasets is not None:
        unknown = sorted(set(datasets) - set(DATASETS))
        if unknown or not datasets:
            raise ValueError(
                f"unknown dataset(s) {unknown or datasets}; choose from {DATASETS}"
            )
        config = dataclasses.replace(config, datasets=tuple(datasets))
    return config


def _brp(config: Config, space, **options):
    iterations = 5 if config.queries % 5 == 0 else 1
    return search.brp(
        space,
        mode=config.mode,
        iterations=iterations,
        epochs=config.brp_epochs,
        hidden=config.hidden,
        **options,
    )


# ------------------------------------------------------------------ (a) search
def search_section(config, table, space, store, out) -> str:
    keys = jax.random.split(jax.random.key(config.seed), config.seeds)
    methods = ("brp", *config.baselines)
    rows, curves = [], {}
    for dataset in config.datasets:
        objective, report = data.search_columns("nb201", dataset)
        for method in methods:

            def compute(method=method, objective=objective, report=report):
                if method == "brp":
                    strategy = _brp(
                        config, space, budget=config.queries, fit_final=False
                    )
                else:
                    strategy = search.get(method)(space)
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
                result = jax.tree.map(np.asarray, result._replace(state=None))
                return {
                    "seconds": time.perf_counter() - start,
                    "best_valid": result.best_objective.tolist(),
                    "test_of_best_valid": result.best_objective_report.tolist(),
                    "best_test": result.best_report.tolist(),
                }

            name = f"search-{dataset}-{method}-{config.mode}-{config.seeds}s"
            log(f"(a) {dataset} {method}")
            record = store.get(name, compute)
            if record is None:
                continue
            final = {k: np.asarray(record[k])[:, -1] for k in record if k != "seconds"}
            curves[(dataset, method)] = np.asarray(record["test_of_best_valid"])
            published = PUBLISHED_SEARCH[dataset] if method == "brp" else None
            rows.append(
                [
                    dataset,
                    "BRP-NAS (nasjax, " + config.mode + ")"
                    if method == "brp"
                    else method,
                    mean_std(final["best_valid"]),
                    mean_std(final["test_of_best_valid"]),
                    mean_std(final["best_test"]),
                    f"{published[0]:.2f} / {published[1]:.2f}" if published else "",
                    f"{record['seconds']:.0f}",
                ]
            )
    _plot_search(config, curves, out / "search.png")
    header = [
        "dataset",
        "method",
        "best valid",
        "test of best valid",
        "best test seen",
        "published BRP-NAS (val / test)",
        "seconds (all seeds)",
    ]
    return "\n".join(
        [
            f"## (a) Search, {config.queries} queries, mean ± std over "
            f"{config.seeds} seeds",
            "",
            markdown_table(header, rows),
            "",
            "Published: Dudziak et al. 2020 (BRP-NAS), NAS-Bench-201 with 100 "
            "queried models. `search.png`: test accuracy of the best-by-validation "
            "model against queries.",
            "",
        ]
    )


def _plot_search(config, curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1, len(config.datasets), figsize=(5 * len(config.datasets), 4), squeeze=False
    )
    for axis, dataset in zip(axes[0], config.datasets):
        for (name, method), curve in curves.items():
            if name != dataset:
                continue
            queries = np.arange(1, curve.shape[1] + 1)
            mean, std = np.nanmean(curve, 0), np.nanstd(curve, 0)
            axis.plot(queries, mean, label=method)
            axis.fill_between(queries, mean - std, mean + std, alpha=0.2)
        axis.set_title(dataset)
        axis.set_xlabel("queries")
        axis.set_ylabel("test accuracy of the best-by-validation model (%)")
        axis.legend()
        axis.grid(alpha=0.3)
    save_figure(figure, path)


# ------------------------------------------------------- (b) predictor quality
def quality_section(config, table, space, store) -> str:
    objective, _ = data.search_columns("nb201", config.quality_dataset)
    archs = np.asarray(table.archs)
    values = np.asarray(table.values(objective), np.float64)
    known = np.isfinite(values)
    kinds = (("binary (BRP)", "brp", "brp"), ("unary (L1)", "unary", "l1"))
    strategy_head = {"brp": "binary", "unary": "unary"}
    rows = []
    for label, predictor, loss in kinds:
        for selection in ("random", "iterative"):
            cells = [label, selection]
            for size in config.quality_sizes:
                taus = []
                for seed in range(config.quality_seeds):
                    name = (
                        f"quality-{predictor}-{selection}-{size}-{seed}-{config.mode}"
                    )

                    def compute(
                        predictor=predictor,
                        loss=loss,
                        selection=selection,
                        size=size,
                        seed=seed,
                    ):
                        key = jax.random.key(1000 + seed)
                        start = time.perf_counter()
                        if selection == "random":
                            rng = np.random.default_rng(seed)
                            chosen = rng.choice(np.flatnonzero(known), size, False)
                            trained = surrogates.train_predictor(
                                space,
                                archs[chosen],
                                values[chosen],
                                key,
                                predictor=predictor,
                                mode=config.mode,
                                epochs=config.brp_epochs,
                                percent=True,
                                hidden=config.hidden,
                            )
                            params, model = trained.params, trained.model
                        else:
                            strategy = _brp(config, space, budget=size, loss=loss)
                            result = search.run(
                                strategy, table, key, size, objective=objective
                            )
                            chosen = space.index(result.archs)
                            params = result.state.params
                            model = surrogates.Predictor(
                                head=strategy_head[predictor], hidden=config.hidden
                            )
                            trained = surrogates.TrainedPredictor(
                                model, params, 0.0, 100.0, 0
                            )
                        predicted = surrogates.predict(trained, space, archs)
                        rest = known.copy()
                        rest[np.asarray(chosen)] = False
                        tau = metrics.kendall_tau(predicted, values, rest)
                        return {
                            "tau": float(tau),
                            "seconds": time.perf_counter() - start,
                        }

                    log(f"(b) {predictor} {selection} {size} seed {seed}")
                    record = store.get(name, compute)
                    if record is not None:
                        taus.append(record["tau"])
                cells.append(mean_std(taus, 3))
            rows.append(cells)
    header = ["predictor", "training models", *map(str, config.quality_sizes)]
    return "\n".join(
        [
            f"## (b) Predictor quality: Kendall tau on the rest of NAS-Bench-201 "
            f"({objective}), mean ± std over {config.quality_seeds} seeds, "
            f"{config.mode} mode",
            "",
            markdown_table(header, rows),
            "",
            "Iterative: BRP-NAS's selection (5 rounds, half top-predicted, half random "
            "from the top 1/2^i), the predictor trained on the final set. Tau is over "
            "the whole rest of the space, while iterative selection spends its "
            "training models near the top of the predicted ranking; section (a) "
            "measures what the selection is for, the search.",
            "",
        ]
    )


# ----------------------------------------------------------- (c) latency
def latency_section(config, table, space, store) -> str:
    archs = np.asarray(table.archs)
    rows, ours, theirs = [], [], []
    for column in config.latency_columns:
        if column not in table.columns:
            log(f"(c) {column}: not in the table, skipped")
            continue
        values = np.asarray(table.values(column), np.float64)

        def compute(column=column, values=values):
            rng = np.random.default_rng(config.seed)
            known = np.flatnonzero(np.isfinite(values))
            picked = rng.choice(
                known, config.latency_train + config.latency_validation, False
            )
            train, held = picked[: config.latency_train], picked[config.latency_train :]
            start = time.perf_counter()
            trained = surrogates.train_predictor(
                space,
                archs[train],
                values[train],
                jax.random.key(config.seed),
                predictor="latency",
                mode=config.mode,
                epochs=config.latency_epochs,
                hidden=config.hidden,
                validation=(archs[held], values[held]),
            )
            test = np.setdiff1d(known, picked)
            predicted = surrogates.predict(trained, space, archs[test])
            report = surrogates.evaluate(
                predicted, values[test], higher_is_better=False, values_predicted=True
            )
            return {**report, "seconds": time.perf_counter() - start}

        log(f"(c) {column}")
        report = store.get(f"latency-{column.replace('/', '_')}-{config.mode}", compute)
        if report is None:
            continue
        label, published = PUBLISHED_LATENCY.get(
            column, (OTHER_LATENCY.get(column, column), None)
        )
        if published is not None:
            ours.append(report["spearman_rho"])
            theirs.append(published)
        rows.append(
            [
                f"{label} (`{column}`)",
                f"{100 * report['within_10pct']:.1f}%",
                f"{report['spearman_rho']:.3f}",
                f"{report['kendall_tau']:.3f}",
                f"{published:.3f}" if published is not None else "",
                f"{report['seconds']:.0f}",
            ]
        )
    if ours:
        rows.append(
            [
                "mean over the published devices",
                "",
                f"{np.mean(ours):.3f}",
                "",
                f"{np.mean(theirs):.3f}",
                "",
            ]
        )
    header = [
        "device",
        "within ±10%",
        "Spearman rho",
        "Kendall tau",
        "published BRP-NAS rank corr.",
        "seconds",
    ]
    return "\n".join(
        [
            f"## (c) Latency predictors: {config.latency_train} training archs, "
            f"{config.latency_validation} monitored, metrics on the rest",
            "",
            markdown_table(header, rows),
            "",
            "HW-NAS-Bench columns are its CIFAR-10 latencies; HELP columns its "
            "NAS-Bench-201 measurements. Published: Dudziak et al. 2020, 900 training "
            "samples (their own measurements of these devices, not these tables).",
            "",
        ]
    )


def run_experiment(
    config: Config,
    data_dir,
    out: pathlib.Path,
    sections: str = "abc",
    stored_only: bool = False,
) -> pathlib.Path:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    table = data.load_table("nb201", data_dir)
    space = spaces.nb201()
    store = Store(out / "runs", stored_only=stored_only)
    log(f"{config}")
    parts = [
        "# BRP-NAS on NAS-Bench-201 (nasjax)",
        "",
        f"Mode `{config.mode}` (see `nasjax.search.brp`); GCN 4 x {config.hidden}.",
        "",
    ]
    if "a" in sections:
        parts.append(search_section(config, table, space, store, out))
    if "b" in sections:
        parts.append(quality_section(config, table, space, store))
    if "c" in sections:
        parts.append(latency_section(config, table, space, store))
    parts += [
        "## Wall time",
        "",
        f"{time.perf_counter() - start:.0f} s for this run (configurations already "
        f"in `runs/` are not rerun) on {machine()}.",
        "",
    ]
    path = out / "brpnas.md"
    write_atomic(path, "\n".join(parts).encode())
    log(f"wrote {path}")
    return path


def main(argv: list[str] | None = None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (or $NASJAX_DATA)")
    parser.add_argument("--out", default="results/brpnas", type=pathlib.Path)
    parser.add_argument("--seeds", type=int, default=None, help="default 10")
    parser.add_argument("--mode", choices=("fast", "faithful"), default=None)
    parser.add_argument(
        "--sections", default="abc", help="which of (a), (b), (c) to run, e.g. ac"
    )
    parser.add_argument(
        "--datasets",
        help="datasets of section (a), comma-separated (default: "
        + ",".join(DATASETS)
        + ")",
    )
    parser.add_argument(
        "--stored-only",
        action="store_true",
        help="tabulate the stored configurations only, run nothing",
    )
    parser.add_argument(
        "--quality-sizes",
        help="training-set sizes of section (b), comma-separated (default 25,50,100)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny test setting")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be a positive integer")
    if not args.sections or set(args.sections) - set("abc"):
        parser.error("--sections takes letters among a, b, c")
    quality_sizes = None
    if args.quality_sizes is not None:
        try:
            quality_sizes = tuple(int(s) for s in args.quality_sizes.split(","))
        except ValueError:
            quality_sizes = ()
        if not quality_sizes or min(quality_sizes) < 2:
            parser.error("--quality-sizes takes integers of at least 2, e.g. 25,50")
    datasets = None if args.datasets is None else tuple(args.datasets.split(","))
    try:
        config = get_config(
            quick=args.quick,
            seeds=args.seeds,
            mode=args.mode,
            quality_sizes=quality_sizes,
            datasets=datasets,
        )
    except ValueError as error:
        parser.error(str(error))
    return run_experiment(config, args.data, args.out, args.sections, args.stored_only)


if __name__ == "__main__":
    main()
