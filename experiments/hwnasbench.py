"""HW-NAS-Bench analyses on the data folder: device correlations, device-specific
search, multi-objective hypervolume.

Usage::

    python experiments/hwnasbench.py [--data DIR] [--out results/hwnasbench]
                                     [--seeds 10] [--quick]

Writes ``OUT/hwnasbench.md`` (markdown tables) and PNG plots, each through a temporary
file and a rename. Three analyses:

(a) Kendall tau-b between the hardware costs of every pair of devices (and FLOPs and
    params), on NAS-Bench-201 (HW-NAS-Bench CIFAR-10 latencies; a pair counts the
    archs where both are known) and on FBNet (CIFAR-100 lookup-table latencies of the
    5,000 HELP archs).
(b) Device-specific search: regularized evolution on ``cifar100/valid_acc`` under a
    latency limit on device A (its 25th percentile over the table) against the same
    search run for another device B at B's own limit, whose queried archs that are
    feasible on A are then judged on A.
(c) Hypervolume of the (``cifar10-valid/valid_acc``, device latency) fronts found by
    NSGA-II, multi-objective REA and random search at several query budgets, against
    the exact front of the table, normalised as :func:`nasjax.pareto.analyse` does.

Every configuration runs all its seeds vmapped in one jitted call.
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

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from _report import logger, machine, markdown_table, run_seeds_with_bar

from nasjax import _plots, data, metrics, pareto, search, spaces
from nasjax.io import mean_std, save_figure, write_atomic

NB201_DEVICES, FBNET_DEVICES = data.hwnasbench.DEVICES, data.hwnasbench.FBNET_DEVICES
HV_STRATEGIES = ("nsga2", "mo-rea", "random")
STRATEGY_LABELS = {"nsga2": "NSGA-II", "mo-rea": "MO-REA", "random": "random"}


@dataclasses.dataclass(frozen=True)
class Config:
    """What the experiment runs; :func:`get_config` gives the defaults."""

    seeds: int = 10
    seed: int = 0
    kendall_rows: int | None = None  # subsample the tables for (a); None = all rows
    search_devices: tuple[str, ...] = NB201_DEVICES  # (b)
    search_queries: int = 100
    percentile: float = 25.0
    search_objective: str = "cifar100/valid_acc"
    search_report: str = "cifar100/test_acc"
    hv_devices: tuple[str, ...] = ("edgegpu", "raspi4", "eyeriss", "fpga")
    hv_strategies: tuple[str, ...] = HV_STRATEGIES
    hv_queries: tuple[int, ...] = (100, 200, 500, 1000)
    hv_accuracy: str = "cifar10-valid/valid_acc"


def get_config(*, quick: bool = False, seeds: int | None = None) -> Config:
    """Defaults (about 3 minutes on 2 CPU cores) or the tiny ``--quick`` setting."""
    config = Config()
    if quick:
        config = dataclasses.replace(
            config,
            seeds=2,
            kendall_rows=1500,
            search_devices=("edgegpu", "raspi4"),
            search_queries=20,
            hv_devices=("edgegpu",),
            hv_queries=(20, 50),
        )
    if seeds is not None:
        config = dataclasses.replace(config, seeds=seeds)
    return config


log = logger("hwnasbench")


# ------------------------------------------------------------ (a) Kendall tau
_kendall = jax.jit(metrics.kendall_tau)


def kendall_matrix(table, columns: list[str], rows: np.ndarray | None):
    """``[C, C]`` Kendall tau-b and ``[C, C]`` pair counts over archs known in both."""
    values = [np.asarray(table.values(c), dtype=np.float32) for c in columns]
    if rows is not None:
        values = [v[rows] for v in values]
    size = len(columns)
    tau, count = np.eye(size), np.zeros((size, size), int)
    for i in range(size):
        for j in range(i, size):
            both = np.isfinite(values[i]) & np.isfinite(values[j])
            count[i, j] = count[j, i] = both.sum()
            if i != j:
                tau[i, j] = tau[j, i] = float(
                    _kendall(values[i], values[j], jnp.asarray(both))
                )
    return tau, count


def _heatmap(tau, labels, title, path):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(1.0 + 0.8 * len(labels), 0.6 * len(labels)))
    image = axis.imshow(tau, cmap="RdBu_r", vmin=-1, vmax=1)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if abs(tau[i, j]) > 0.6 else "black"
            axis.text(
                j,
                i,
                f"{tau[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
            )
    figure.colorbar(image, ax=axis, label="Kendall tau-b")
    axis.set_title(title)
    save_figure(figure, path)


def _tau_markdown(tau, count, labels) -> str:
    rows = [
        [labels[i]] + [f"{tau[i, j]:.3f}" for j in range(len(labels))]
        for i in range(len(labels))
    ]
    archs = count[~np.eye(len(labels), dtype=bool)]
    return (
        markdown_table([""] + labels, rows)
        + f"\n\nArchitectures per pair: {archs.min():,} to {archs.max():,}."
    )


def correlations(config, nb201, fbnet, out: pathlib.Path, rng) -> str:
    parts = ["## (a) Kendall tau between devices", ""]
    cases = [
        (
            "NAS-Bench-201",
            nb201,
            "cifar10",
            NB201_DEVICES,
            "HW-NAS-Bench CIFAR-10 latencies; FLOPs and params of the CIFAR-10 network",
            "kendall_nb201.png",
        ),
        (
            "FBNet",
            fbnet,
            "cifar100",
            FBNET_DEVICES,
            "HW-NAS-Bench CIFAR-100 lookup-table latencies summed over the layers, "
            "over the 5,000 HELP architectures; FLOPs and params of the CIFAR-100 "
            "network",
            "kendall_fbnet.png",
        ),
    ]
    for name, table, dataset, devices, note, png in cases:
        columns = [data.device_column(table, dataset, d) for d in devices]
        columns += [f"{dataset}/flops", f"{dataset}/params"]
        labels = list(devices) + ["flops", "params"]
        rows = None
        if config.kendall_rows is not None and config.kendall_rows < table.num_rows:
            rows = np.sort(rng.choice(table.num_rows, config.kendall_rows, False))
        start = time.perf_counter()
        tau, count = kendall_matrix(table, columns, rows)
        log(f"(a) {name}: {len(columns)} columns, {time.perf_counter() - start:.1f}s")
        _heatmap(tau, labels, f"{name}: Kendall tau-b of hardware costs", out / png)
        subsample = "" if rows is None else f" (a random subsample of {len(rows)})"
        known = [int(count[i, i]) for i in range(len(columns))]
        partial = [
            f"{label} {k:,}" for label, k in zip(labels, known) if k < max(known)
        ]
        if partial:
            subsample += f"; known for {max(known):,} archs except {', '.join(partial)}"
        parts += [
            f"### {name}",
            "",
            f"{note}{subsample}. Pairs over the archs where both are known (NaN "
            f"excluded). Heatmap: `{png}`.",
            "",
            _tau_markdown(tau, count, labels),
            "",
        ]
        off = ~np.eye(len(devices), dtype=bool)
        device_tau = tau[: len(devices), : len(devices)]
        worst = np.unravel_index(np.argmin(np.where(off, device_tau, 2)), off.shape)
        parts += [
            f"Lowest device pair: {devices[worst[0]]} / {devices[worst[1]]} "
            f"(tau {device_tau[worst]:.3f}); mean over device pairs "
            f"{device_tau[off].mean():.3f}.",
            "",
        ]
    return "\n".join(parts)


# ---------------------------------------------------- (b) device-specific search
def device_specific(config, table, space, keys) -> str:
    devices = list(config.search_devices)
    columns = [data.device_column(table, "cifar10", d) for d in devices]
    latency = [np.asarray(table.values(c), dtype=np.float64) for c in columns]
    limits = [float(np.nanpercentile(v, config.percentile)) for v in latency]
    test = np.asarray(table.values(config.search_report), dtype=np.float64)
    optimum = [
        float(np.nanmax(np.where(v <= lim, test, np.nan)))
        for v, lim in zip(latency, limits)
    ]
    strategy = search.regularized_evolution(space)
    lookup = (config.search_objective, config.search_report, *columns)
    found = []  # per searched device B: [R, Q, 2 + D] values of its queried archs
    for column, limit in zip(columns, limits):
        start = time.perf_counter()
        result = run_seeds_with_bar(
            f"(b) rea under {column} <= {limit:.3g}",
            strategy,
            table,
            keys,
            config.search_queries,
            objective=config.search_objective,
            report=config.search_report,
            constraint=column,
            limit=limit,
        )
        found.append(pareto.lookup_values(table, np.asarray(result.archs), lookup))
        log(
            f"(b) REA under {column} <= {limit:.3f} ms: "
            f"{time.perf_counter() - start:.1f}s"
        )

    size = len(devices)
    by_valid = np.full((size, size, config.seeds), np.nan)  # [A, B, R]
    oracle = np.full_like(by_valid, np.nan)
    feasible_share = np.zeros((size, size, config.seeds))
    for a in range(size):
        for b in range(size):
            values = found[b]
            known = np.isfinite(values[..., 0])
            feasible = known & (values[..., 2 + a] <= limits[a])  # NaN: infeasible
            feasible_share[a, b] = feasible.sum(1) / np.maximum(known.sum(1), 1)
            valid = np.where(feasible, values[..., 0], -np.inf)
            any_feasible = feasible.any(1)
            pick = np.argmax(valid, axis=1)
            chosen = np.take_along_axis(values[..., 1], pick[:, None], 1)[:, 0]
            by_valid[a, b] = np.where(any_feasible, chosen, np.nan)
            oracle[a, b] = np.where(
                any_feasible, np.where(feasible, values[..., 1], -np.inf).max(1), np.nan
            )

    unknown = ", ".join(
        f"{d}: {int(np.isnan(v).sum()):,} archs"
        for d, v in zip(devices, latency)
        if np.isnan(v).any()
    )
    header = ["target A \\ searched for B"] + devices + ["table optimum on A"]

    def matrix(values) -> str:
        rows = []
        for a in range(size):
            cells = []
            for b in range(size):
                cell = mean_std(values[a, b])
                missing = int(np.isnan(values[a, b]).sum())
                if missing:
                    cell += f" ({missing} seeds none)"
                cells.append(f"**{cell}**" if a == b else cell)
            rows.append([devices[a]] + cells + [f"{optimum[a]:.2f}"])
        return markdown_table(header, rows)

    share_rows = [
        [devices[a]]
        + [f"{100 * feasible_share[a, b].mean():.0f}%" for b in range(size)]
        for a in range(size)
    ]
    own = np.array([np.nanmean(by_valid[a, a]) for a in range(size)])
    others = np.array(
        [
            np.nanmean([np.nanmean(by_valid[a, b]) for b in range(size) if b != a])
            for a in range(size)
        ]
    )
    wins = [
        sum(
            np.nanmean(by_valid[a, a]) >= np.nanmean(by_valid[a, b])
            for b in range(size)
            if b != a
        )
        for a in range(size)
    ]
    limit_rows = [
        [d, c, f"{lim:.3f}", f"{opt:.2f}", f"{o:.2f}", f"{x:.2f}", f"{w}/{size - 1}"]
        for d, c, lim, opt, o, x, w in zip(
            devices, columns, limits, optimum, own, others, wins
        )
    ]
    return "\n".join(
        [
            "## (b) Device-specific search vs architectures found for another device",
            "",
            f"Regularized evolution (population 10, tournament 3), "
            f"{config.search_queries} queries of `{config.search_objective}`, "
            f"{config.seeds} seeds vmapped per device. The search for device B runs "
            f"under the constraint latency_B <= B's {config.percentile:g}th "
            "percentile over the table; its queried archs that are also within "
            "A's limit are then judged on A. The hardware data are the HW-NAS-Bench "
            "**CIFAR-10** latencies (the only HW-NAS-Bench NAS-Bench-201 latencies in "
            "the data folder), while accuracy is **CIFAR-100** (validation for the "
            f"search, `{config.search_report}` reported). Archs with an unknown "
            f"latency ({unknown or 'none here'}) count as infeasible.",
            "",
            "Limits, the true best feasible test accuracy on A (from the table), A's "
            "own search (diagonal below), the mean of the other devices' searches "
            "judged on A, and how many of them A's own search matches or beats:",
            "",
            markdown_table(
                [
                    "A",
                    "column",
                    "limit (ms)",
                    "table optimum",
                    "own search",
                    "others (mean)",
                    "own >= other",
                ],
                limit_rows,
            ),
            "",
            "Test accuracy on A (mean ± std over seeds) of the best-by-validation "
            "arch among the queried archs of B's search that are feasible on A "
            "(diagonal, bold: the device-specific search):",
            "",
            matrix(by_valid),
            "",
            "Best test accuracy on A among the same archs (oracle):",
            "",
            matrix(oracle),
            "",
            "Share of B's queried archs that are feasible on A (mean over seeds):",
            "",
            markdown_table(["A \\ B"] + devices, share_rows),
            "",
        ]
    )


# ------------------------------------------------------------ (c) hypervolume
def _mo_strategy(name: str, space):
    return search.get(name)(space, num_objectives=2)


def hypervolumes(config, table, space, keys, out: pathlib.Path) -> str:
    import matplotlib.pyplot as plt

    ends = np.asarray(config.hv_queries)
    num_queries = int(ends.max())
    header = ["device", "strategy"] + [f"{q} queries" for q in ends]
    rows, fronts, curves_of, table_hvs = [], {}, {}, {}
    for device in config.hv_devices:
        columns = (config.hv_accuracy, data.device_column(table, "cifar10", device))
        for name in config.hv_strategies:
            start = time.perf_counter()
            result = run_seeds_with_bar(
                f"(c) {name} on {device}",
                _mo_strategy(name, space),
                table,
                keys,
                num_queries,
                objective=columns,
                report="cifar10/test_acc",
            )
            found = pareto.analyse(table, np.asarray(result.archs), columns, ends=ends)
            curves = found.curves
            curves_of[device, name] = curves
            fronts[device, name] = found.values[0][found.on_front[0]]
            table_hvs[device] = (found.table_hv, found.table_front)
            rows.append(
                [device, STRATEGY_LABELS[name]]
                + [mean_std(curves[:, t], 4) for t in range(len(ends))]
            )
            log(
                f"(c) {name} on {device}: {num_queries} queries, "
                f"{time.perf_counter() - start:.1f}s"
            )
        rows.append(
            [device, "**exact front of the table**"]
            + [f"{table_hvs[device][0]:.4f}"] * len(ends)
        )

    size = len(config.hv_devices)
    figure, axes = plt.subplots(1, size, figsize=(5 * size, 3.8), squeeze=False)
    for axis, device in zip(axes[0], config.hv_devices):
        for name in config.hv_strategies:
            curves = curves_of[device, name]
            mean, std = curves.mean(0), curves.std(0)
            (line,) = axis.plot(ends, mean, marker="o", label=STRATEGY_LABELS[name])
            axis.fill_between(
                ends, mean - std, mean + std, alpha=0.2, color=line.get_color()
            )
        axis.axhline(table_hvs[device][0], color="k", ls="--", label="exact front")
        axis.set_xscale("log")
        axis.set_xlabel("queries")
        axis.set_ylabel("hypervolume (normalised)")
        axis.set_title(f"{device}: HV (mean ± std over {config.seeds} seeds)")
        axis.legend(fontsize=8)
    save_figure(figure, out / "hv_vs_queries.png")

    accuracy = np.asarray(table.values(config.hv_accuracy), dtype=np.float64)
    disconnected = _plots.degenerate(space, np.asarray(table.archs))
    figure, axes = plt.subplots(1, size, figsize=(5.5 * size, 4.8), squeeze=False)
    for axis, device in zip(axes[0], config.hv_devices):
        column = data.device_column(table, "cifar10", device)
        latency = np.asarray(table.values(column), dtype=np.float64)
        known = np.isfinite(latency) & np.isfinite(accuracy)
        _plots.plot_front(
            axis,
            table_xy=np.stack([latency, accuracy], -1)[known & ~disconnected],
            excluded=int(np.sum(known & disconnected)),
            exact=np.asarray(table_hvs[device][1], np.float64)[:, ::-1],
            found={
                STRATEGY_LABELS[name]: fronts[device, name][:, ::-1]
                for name in config.hv_strategies
            },
            x_label=f"{column} (ms)",
            y_label=f"{config.hv_accuracy} (%)",
        )
        axis.set_title(f"{device}: final fronts, seed 0, {num_queries} queries")
    save_figure(figure, out / "fronts.png")

    return "\n".join(
        [
            "## (c) Hypervolume of the fronts found",
            "",
            f"Objectives (`{config.hv_accuracy}`, `cifar10/{{device}}_latency`), "
            "`num_objectives=2`; NSGA-II (population 20), MO-REA (population 10, "
            "tournament 3), random search (batch 16). Each column is normalised by "
            "`nasjax.pareto.analyse` (0 = the table's best value, 1 = its worst, "
            "over the rows where both are known), reference point (1, 1); the "
            "hypervolume at t queries is that of the first t unique queried archs. "
            "Mean ± std over "
            f"{config.seeds} seeds vmapped in one call per configuration. Plots: "
            "`hv_vs_queries.png`, `fronts.png` (seed 0 vs the exact front).",
            "",
            markdown_table(header, rows),
            "",
        ]
    )


# ----------------------------------------------------------------------- main
def run_experiment(config: Config, data_dir, out: pathlib.Path) -> pathlib.Path:
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    nb201 = data.load_table("nb201", data_dir)
    fbnet = data.load_table("fbnet", data_dir)
    space = spaces.nb201()
    rng = np.random.default_rng(config.seed)
    keys = jax.random.split(jax.random.key(config.seed), config.seeds)
    log(f"loaded tables in {time.perf_counter() - start:.1f}s; {config}")
    sections = [
        "# HW-NAS-Bench analyses (nasjax)",
        "",
        f"Configuration: {config.seeds} seeds (seed {config.seed}); "
        f"(b) {config.search_queries} queries, devices "
        f"{', '.join(config.search_devices)}; (c) devices "
        f"{', '.join(config.hv_devices)}, queries "
        f"{', '.join(map(str, config.hv_queries))}.",
        "",
        correlations(config, nb201, fbnet, out, rng),
        device_specific(config, nb201, space, keys),
        hypervolumes(config, nb201, space, keys, out),
    ]
    elapsed = time.perf_counter() - start
    sections += [
        "## Wall time",
        "",
        f"{elapsed:.1f} s for the whole experiment (loading, compiling, searching, "
        f"plotting) on {machine()}.",
        "",
    ]
    path = out / "hwnasbench.md"
    write_atomic(path, "\n".join(sections).encode())
    log(f"wrote {path} in {elapsed:.1f}s")
    return path


def main(argv: list[str] | None = None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (or $NASJAX_DATA)")
    parser.add_argument("--out", default="results/hwnasbench", type=pathlib.Path)
    parser.add_argument("--seeds", type=int, default=None, help="default 10")
    parser.add_argument("--quick", action="store_true", help="tiny test setting")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be a positive integer")
    config = get_config(quick=args.quick, seeds=args.seeds)
    return run_experiment(config, args.data, args.out)


if __name__ == "__main__":
    main()
