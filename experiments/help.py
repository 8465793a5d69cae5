"""Few-shot latency prediction (nasjax.fewshot) beside HELP, BRP-NAS and FLOPs.

Usage::

    python experiments/help.py [--data DIR] [--out results/help] [--seeds 10]
                               [--sections ab] [--brp-sizes 5,10,20,50,900]
                               [--brp-seeds 1] [--stored-only] [--quick]

Writes ``OUT/help.md`` and ``OUT/loo.png``:

(a) HELP's protocol (``nasjax.fewshot.protocol``; Lee et al. 2021, Tables 2-3), on
    NAS-Bench-201 and FBNet: the prior is pre-trained on HELP's meta-train devices,
    using only their sample pools; each meta-valid and meta-test device is adapted
    from 10 random samples of its pool (``--seeds`` draws) and from the 10 that
    ``fewshot.select`` picks among the pool's architectures, and Spearman's rho is
    computed over HELP's test architectures. Design choices were made on the
    meta-valid devices only. FLOPs' rho over the same architectures for reference.
(b) Leave one device out, over every latency column of the table: each column's prior
    is pre-trained on every other column whose hardware differs (no batch size or
    dataset of the held-out hardware), adapted from K = 5, 10, 20, 50 random samples,
    and evaluated on all the column's other architectures; beside FLOPs and BRP-NAS's
    GCN latency predictor trained from scratch on the same K and on 900 (NAS-Bench-201,
    HELP's meta-test devices, or every device with ``--brp-all-devices``;
    ``--brp-sizes``, ``--brp-seeds``). Each BRP-NAS training is stored in
    ``OUT/runs/``, so a killed run resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from nasjax import data, fewshot, metrics, spaces, surrogates
from nasjax.fewshot import protocol
from nasjax.io import Store, mean_std, save_figure, write_atomic

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _report import logger, machine, markdown_table  # noqa: E402

log = logger("help")
SIZES = (5, 10, 20, 50)


@dataclasses.dataclass(frozen=True)
class Config:
    """What the experiment runs; :func:`get_config` gives the defaults."""

    seeds: int = 10
    sizes: tuple[int, ...] = SIZES
    help_samples: int = 10
    brp_sizes: tuple[int, ...] = (5, 10, 20, 50, 900)
    brp_seeds: int = 1
    brp_all_devices: bool = False  # default: HELP's NAS-Bench-201 meta-test devices
    brp_epochs: int | None = None  # None: the preset's
    seed: int = 0


def get_config(*, quick: bool = False, **overrides) -> Config:
    """Defaults, or the tiny ``--quick`` setting; ``None`` overrides are ignored."""
    base = (
        Config(seeds=2, sizes=(5, 10), brp_sizes=(10,), brp_seeds=1, brp_epochs=3)
        if quick
        else Config()
    )
    return dataclasses.replace(
        base, **{k: v for k, v in overrides.items() if v is not None}
    )


# ------------------------------------------------------------------ the data
def help_archs(space_name: str, data_dir) -> np.ndarray:
    """The architectures HELP measured, in HELP's order (its arch index).

    NAS-Bench-201: the benchmark index. FBNet: the order of HELP's ``metainfo.pt``,
    the ``arch_id`` of the data folder's HELP file (the embedded table keeps its
    rows sorted), so None without a data folder.
    """
    if space_name == "nb201":
        space = spaces.nb201()
        return np.asarray(space.from_benchmark_index(jnp.arange(space.size)))
    import pandas as pd

    try:
        path = data.data_dir(data_dir) / data.fbnet.HELP_FILE
    except data.DataError:
        return None
    if not path.is_file():
        return None
    frame = pd.read_parquet(path)
    frame = frame.sort_values("arch_id")
    return np.array([[int(v) for v in s.split()] for s in frame["op_idx_list"]])


def _matrix(table, archs, columns) -> np.ndarray:
    return np.stack(
        [np.asarray(table.query(jnp.asarray(archs), c), np.float64) for c in columns],
        axis=1,
    )


# ------------------------------------------------------------- (a) HELP's table
def help_section(config: Config, space_name: str, table, data_dir) -> tuple[str, dict]:
    space = {"nb201": spaces.nb201(), "fbnet": spaces.fbnet()}[space_name]
    split = fewshot.HELP_SPLITS[space_name]
    archs = help_archs(space_name, data_dir)
    if archs is None:
        note = (
            f"### {space_name}: skipped (HELP's architecture order comes from the data "
            f"folder's `{data.fbnet.HELP_FILE}`; pass --data)\n"
        )
        log(note.strip())
        return note, {}
    train_columns = [protocol.help_column(space_name, d) for d in split.meta_train]
    train = _matrix(table, archs, train_columns)
    row_mask = np.zeros(train.shape, bool)
    for t in range(train.shape[1]):
        pool, _ = protocol.help_indices(train[:, t], split.pool, split.query)
        row_mask[pool, t] = True
    prior = fewshot.table_prior(
        space, table, train_columns, archs=archs, row_mask=row_mask
    )
    devices = split.meta_valid + split.meta_test
    evaluated = _matrix(
        table, archs, [protocol.help_column(space_name, d) for d in devices]
    )
    pools, queries = zip(
        *(
            protocol.help_indices(evaluated[:, t], split.pool, split.query)
            for t in range(len(devices))
        )
    )
    k = config.help_samples
    grid = protocol.random_grid(
        list(pools), list(queries), len(archs), (k,), config.seeds, config.seed
    )
    random_rho = np.asarray(
        fewshot.evaluate_grid(prior, space, archs, evaluated, grid)
    )  # [T, seeds]
    chosen = np.asarray(fewshot.select(prior, space, archs[: split.pool], k))
    selected_grid = protocol.Grid(
        jnp.broadcast_to(jnp.asarray(chosen), (len(devices), 1, k)),
        jnp.ones((len(devices), 1, k), bool),
        grid.query_mask,
    )
    selected_rho = np.asarray(
        fewshot.evaluate_grid(prior, space, archs, evaluated, selected_grid)
    )[:, 0]
    cost_column = protocol.COST_COLUMNS[space_name]
    cost = np.asarray(table.query(jnp.asarray(archs), cost_column))
    published = fewshot.HELP_PUBLISHED[space_name]
    rows, figures = [], {}
    for t, device in enumerate(devices):
        role = "meta-valid" if device in split.meta_valid else "meta-test"
        flops = float(
            metrics.spearman_rho(cost, evaluated[:, t], np.asarray(grid.query_mask[t]))
        )
        figures[device] = (random_rho[t], selected_rho[t], role)
        rows.append(
            [
                f"{device} ({role})",
                f"{published[device]:.3f}" if device in published else "",
                mean_std(random_rho[t], 3),
                f"{selected_rho[t]:.3f}",
                f"{flops:.3f}",
            ]
        )
    test = [t for t, d in enumerate(devices) if d in split.meta_test]
    rows.append(
        [
            "**mean over meta-test**",
            f"{fewshot.HELP_PUBLISHED_MEAN[space_name]:.3f}",
            mean_std(random_rho[test].mean(axis=0), 3),
            f"{selected_rho[test].mean():.3f}",
            "",
        ]
    )
    header = [
        "device",
        f"HELP ({k} samples, published)",
        f"nasjax, {k} random samples (mean ± std over {config.seeds} draws)",
        f"nasjax, {k} selected samples",
        "FLOPs",
    ]
    text = "\n".join(
        [
            f"### {space_name}: meta-train on {', '.join(split.meta_train)}",
            "",
            markdown_table(header, rows),
            "",
        ]
    )
    return text, figures


# --------------------------------------------------------- (b) leave one out
def loo_section(config: Config, space_name: str, table, store, out) -> tuple[str, dict]:
    space = {"nb201": spaces.nb201(), "fbnet": spaces.fbnet()}[space_name]
    archs = np.asarray(table.archs)
    columns = fewshot.latency_columns(table)
    values = _matrix(table, archs, columns)
    known = np.isfinite(values) & (values > 0)
    masks = protocol.leave_one_out_masks(columns)
    flops = _matrix(table, archs, [protocol.COST_COLUMNS[space_name]])
    priors = jax.vmap(
        lambda m: fewshot.pretrain(space, archs, values, device_mask=m, costs=flops)
    )(masks)
    pools = [np.flatnonzero(known[:, t]) for t in range(len(columns))]
    grid = protocol.random_grid(
        pools, pools, len(archs), config.sizes, config.seeds, config.seed
    )
    start = time.perf_counter()
    rho = np.asarray(
        fewshot.evaluate_grid(priors, space, archs, values, grid, per_device_prior=True)
    ).reshape(len(columns), len(config.sizes), config.seeds)
    grid_seconds = time.perf_counter() - start
    flops_rho = {
        c: float(
            metrics.spearman_rho(
                table.query(jnp.asarray(archs), _cost_column(space_name, c)),
                values[:, t],
                known[:, t],
            )
        )
        for t, c in enumerate(columns)
    }
    brp = _brp_baseline(config, space_name, space, archs, columns, values, store)
    rows = []
    for t, column in enumerate(columns):
        row = [f"`{column}`"]
        row += [mean_std(rho[t, i], 3) for i in range(len(config.sizes))]
        row += [f"{flops_rho[column]:.3f}"]
        row += (
            [
                mean_std(brp[column][k], 3) if brp.get(column, {}).get(k) else ""
                for k in config.brp_sizes
            ]
            if brp
            else []
        )
        rows.append(row)
    median = np.median(rho.mean(axis=2), axis=0)
    rows.append(
        ["**median over devices**"]
        + [f"{m:.3f}" for m in median]
        + [f"{np.median(list(flops_rho.values())):.3f}"]
        + (
            [
                f"{np.median([np.mean(v[k]) for v in brp.values() if v.get(k)]):.3f}"
                if any(v.get(k) for v in brp.values())
                else ""
                for k in config.brp_sizes
            ]
            if brp
            else []
        )
    )
    header = ["column"] + [f"K = {k}" for k in config.sizes] + ["FLOPs"]
    if brp:
        header += [f"BRP-NAS K = {k}" for k in config.brp_sizes]
    k10 = config.sizes.index(10) if 10 in config.sizes else 0
    per_device = rho[:, k10].mean(axis=1)
    worst = int(np.argmin(per_device))
    text = "\n".join(
        [
            f"### {space_name}: {len(columns)} latency columns, {len(archs)} "
            "architectures",
            "",
            markdown_table(header, rows),
            "",
            f"K = {config.sizes[k10]}: median rho {np.median(per_device):.3f}; worst "
            f"`{columns[worst]}` ({per_device[worst]:.3f}). The whole grid "
            f"({len(columns)} devices x {len(config.sizes)} sizes x {config.seeds} "
            f"draws) ran as one jitted call in {grid_seconds:.1f} s with its compile.",
            "",
        ]
    )
    return text, {"rho": rho, "columns": columns, "flops": flops_rho, "brp": brp}


def _cost_column(space_name: str, column: str) -> str:
    if space_name == "fbnet" and column.startswith("ImageNet/"):
        return "ImageNet/flops"
    return protocol.COST_COLUMNS[space_name]


def _brp_baseline(config, space_name, space, archs, columns, values, store) -> dict:
    """BRP-NAS's GCN latency predictor from scratch: ``{column: {K: [rho per seed]}}``
    (NAS-Bench-201 only)."""
    if space_name != "nb201" or not config.brp_sizes or config.brp_seeds < 1:
        return {}
    if config.brp_all_devices:
        chosen = columns
    else:
        test = fewshot.HELP_SPLITS["nb201"].meta_test
        chosen = [protocol.help_column("nb201", d) for d in test]
    results = {column: {} for column in columns}
    for k in config.brp_sizes:  # every device at small K before any at 900
        for t, column in enumerate(columns):
            if column not in chosen:
                continue
            known = np.flatnonzero(np.isfinite(values[:, t]) & (values[:, t] > 0))
            rhos = []
            for seed in range(config.brp_seeds):

                def compute(t=t, k=k, seed=seed, known=known):
                    rng = np.random.default_rng([config.seed, seed, t, k])
                    train = rng.choice(known, k, replace=False)
                    start = time.perf_counter()
                    trained = surrogates.train_predictor(
                        space,
                        archs[train],
                        values[train, t],
                        jax.random.key(seed),
                        predictor="latency",
                        mode="fast",
                        epochs=config.brp_epochs,
                    )
                    test = np.setdiff1d(known, train)
                    predicted = surrogates.predict(trained, space, archs[test])
                    rho = metrics.spearman_rho(predicted, values[test, t])
                    return {"rho": float(rho), "seconds": time.perf_counter() - start}

                name = f"brp-{column.replace('/', '_')}-k{k}-s{seed}"
                if config.brp_epochs is not None:
                    name += f"-e{config.brp_epochs}"
                log(f"(b) BRP-NAS {column} K={k} seed {seed}")
                record = store.get(name, compute)
                if record is not None:
                    rhos.append(record["rho"])
            if rhos:
                results[column][k] = rhos
    return results


def _plot(config, loo: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(loo), figsize=(5.5 * len(loo), 4), squeeze=False)
    for axis, (space_name, result) in zip(axes[0], loo.items()):
        rho = result["rho"].mean(axis=2)  # [T, sizes]
        axis.plot(config.sizes, np.median(rho, axis=0), "o-", label="nasjax few-shot")
        axis.fill_between(
            config.sizes,
            np.percentile(rho, 25, axis=0),
            np.percentile(rho, 75, axis=0),
            alpha=0.2,
        )
        brp = result["brp"]
        sizes = [k for k in config.brp_sizes if any(v.get(k) for v in brp.values())]
        if sizes:
            medians = [
                np.median([np.mean(v[k]) for v in brp.values() if v.get(k)])
                for k in sizes
            ]
            axis.plot(sizes, medians, "s--", label="BRP-NAS GCN from scratch")
        axis.axhline(
            np.median(list(result["flops"].values())),
            color="grey",
            ls=":",
            label="FLOPs",
        )
        axis.set_xscale("log")
        axis.set_xlabel("measured architectures K")
        axis.set_ylabel("Spearman rho (median over devices)")
        axis.set_title(f"{space_name}: leave one device out")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    save_figure(figure, path)


def run_experiment(
    config: Config,
    data_dir,
    out: pathlib.Path,
    sections: str = "ab",
    stored_only: bool = False,
) -> pathlib.Path:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / "runs", stored_only=stored_only)
    tables = {name: data.load_table(name, data_dir) for name in ("nb201", "fbnet")}
    log(f"{config}")
    parts = ["# Few-shot latency prediction (nasjax.fewshot)", ""]
    if "a" in sections:
        parts += [
            f"## (a) HELP's protocol, {config.help_samples} samples",
            "",
            "Published HELP figures: its README (Tables 2 and 3). HELP's code also "
            "measures 10 fixed reference architectures for its hardware embedding on "
            "top of the 10 samples; nasjax uses the 10 samples only.",
            "",
        ]
        for name, table in tables.items():
            parts.append(help_section(config, name, table, data_dir)[0])
    if "b" in sections:
        parts += [
            "## (b) Leave one device out",
            "",
            "Spearman rho, mean ± std over random draws of the K samples.",
            "",
        ]
        loo = {}
        for name, table in tables.items():
            text, loo[name] = loo_section(config, name, table, store, out)
            parts.append(text)
        _plot(config, loo, out / "loo.png")
    parts += [
        "## Wall time",
        "",
        f"{time.perf_counter() - start:.0f} s for this run on {machine()}.",
        "",
    ]
    path = out / "help.md"
    write_atomic(path, "\n".join(parts).encode())
    log(f"wrote {path}")
    return path


def _sizes(text: str, parser, flag: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 2:
        parser.error(f"{flag} takes integers of at least 2, e.g. 5,10")
    return sizes


def main(argv: list[str] | None = None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (or $NASJAX_DATA)")
    parser.add_argument("--out", default="results/help", type=pathlib.Path)
    parser.add_argument("--seeds", type=int, default=None, help="default 10")
    parser.add_argument("--sections", default="ab", help="(a) HELP, (b) leave-one-out")
    parser.add_argument("--brp-sizes", help="BRP-NAS sizes, default 5,...,900")
    parser.add_argument("--brp-seeds", type=int, default=None, help="default 1")
    parser.add_argument(
        "--brp-all-devices", action="store_true", help="BRP-NAS on every column"
    )
    parser.add_argument("--stored-only", action="store_true", help="run nothing new")
    parser.add_argument("--quick", action="store_true", help="tiny test setting")
    args = parser.parse_args(argv)
    if args.seeds is not None and not 1 <= args.seeds <= 1000:
        parser.error("--seeds must be an integer from 1 to 1000")
    if args.brp_seeds is not None and not 0 <= args.brp_seeds <= 100:
        parser.error("--brp-seeds must be an integer from 0 to 100")
    if not args.sections or set(args.sections) - set("ab"):
        parser.error("--sections takes letters among a, b")
    brp_sizes = None
    if args.brp_sizes is not None:
        brp_sizes = _sizes(args.brp_sizes, parser, "--brp-sizes")
    config = get_config(
        quick=args.quick,
        seeds=args.seeds,
        brp_sizes=brp_sizes,
        brp_seeds=args.brp_seeds,
        brp_all_devices=args.brp_all_devices or None,
    )
    return run_experiment(config, args.data, args.out, args.sections, args.stored_only)


if __name__ == "__main__":
    main()
