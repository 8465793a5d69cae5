"""nasjax's own NAS-Bench-201 latency against the published devices, FLOPs and params,
and a BRP-NAS-style GCN latency predictor trained on it.

Usage::

    python experiments/measure.py [--data DIR] [--out results/measure]
                                  [--cpu FILE] [--gpu FILE] [--quick]
    python experiments/measure.py --ship FILE [--note "what else ran"]

The latencies are ``nasjax measure`` files of NAS-Bench-201 CIFAR-10 cells at batch 1
(``--cpu``, ``--gpu``); without ``--cpu`` the CPU table shipped with nasjax is used.
Each is reduced to one value per isomorphism class, and every comparison uses one
architecture per measured class (its lowest ``arch_idx``, the member that
``nasjax measure --archs all --unique`` times).

Writes ``OUT/measure.md`` and ``OUT/latency_scatter.png``:

(a) the measurement: classes measured, compile and measure time per cell, median CV;
(b) Kendall tau-b of each nasjax latency against every latency column of the data
    folder (HW-NAS-Bench ``cifar10/{device}_latency``, HELP ``help/{device}``,
    LatBench when present) and against FLOPs and params;
(c) the GCN latency predictor (``nasjax.surrogates``; skipped with a message until
    that package is importable): trained on 900 measured cells, the share of the
    other cells predicted within +-10% of their measured latency, and Kendall tau.

``--ship FILE`` writes FILE's per-class CPU latencies and its setup into
``nasjax/resources`` (the table ``nasjax.data.measured.shipped_latency`` reads).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import io
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from nasjax import data, measure, metrics, spaces
from nasjax.data import measured
from nasjax.io import save_figure, write_atomic

RESOURCES = pathlib.Path(__file__).parents[1] / "nasjax" / "resources"
COST_COLUMNS = ("cifar10/flops", "cifar10/params")


@dataclasses.dataclass(frozen=True)
class Config:
    """What the experiment runs; :func:`get_config` gives the defaults."""

    seed: int = 0
    num_train: int = 900  # (c) training cells, as BRP-NAS
    max_cells: int | None = None  # subsample the classes for (b), (c); None = all
    epochs: int = 250
    tolerance: float = 0.1  # (c) "accuracy" = share within +-10%


def get_config(*, quick: bool = False) -> Config:
    """Defaults, or the tiny ``--quick`` setting."""
    if quick:
        return Config(num_train=100, max_cells=400, epochs=5)
    return Config()


def log(message: str) -> None:
    print(f"[measure] {message}", file=sys.stderr, flush=True)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------ sources
@dataclasses.dataclass(frozen=True)
class Source:
    """One nasjax latency: ``[6466]`` per-class values and how they were measured."""

    name: str
    per_class: np.ndarray
    setup: dict


def _from_file(name: str, path: pathlib.Path) -> Source:
    frame = measured.read_measurements(path)
    if not len(frame):
        raise data.DataError(f"{str(path)!r} holds no measurements")
    setup = frame.iloc[:1].to_dict("records")[0]
    expected = {"space": "nb201", "dataset": "cifar10", "batch_size": 1}
    for key, value in expected.items():
        if setup[key] != value:
            raise data.DataError(
                f"{str(path)!r} has {key} {setup[key]!r}; this experiment compares "
                f"NAS-Bench-201 CIFAR-10 cells at batch 1 ({key} {value!r})"
            )
    summary = measure.timing_summary(frame)
    per_class = measured.nb201_class_latencies(frame)
    setup = {
        **{k: setup[k] for k in ("backend", "device_kind", "host_cpu", "jax_version")},
        **{k: setup[k] for k in ("dataset", "batch_size", "warmup", "repeats")},
        **summary,
        "classes_measured": int(np.sum(~np.isnan(per_class))),
    }
    return Source(name, per_class, setup)


def _shipped() -> Source:
    return Source(
        "nasjax_cpu", measured.shipped_class_latencies(), measured.shipped_metadata()
    )


def representatives() -> np.ndarray:
    """``[6466]`` the lowest ``arch_idx`` of each isomorphism class."""
    classes = measured.nb201_class_of_benchmark_index()
    return np.unique(classes, return_index=True)[1]


# ------------------------------------------------------- (a) the measurement
def measurement_section(sources: list[Source]) -> str:
    rows = []
    for source in sources:
        s = source.setup
        rows.append(
            [
                source.name,
                f"{s['backend']} ({s['device_kind']}; {s['host_cpu']})",
                f"{s['classes_measured']:,} / 6,466",
                f"{s['mean_compile_s']:.2f}",
                f"{s['mean_measure_s']:.2f}",
                f"{100 * s['median_cv']:.1f}%",
                f"{s['warmup']} / {s['repeats']}",
                s["jax_version"],
            ]
        )
    header = [
        "latency",
        "device",
        "classes measured",
        "compile s/cell",
        "measure s/cell",
        "median CV",
        "warm-up / repeats",
        "jax",
    ]
    return "\n".join(
        [
            "## (a) The measurement",
            "",
            "NAS-Bench-201 CIFAR-10 networks (32x32, batch 1), one cell per "
            "isomorphism class, timed by `nasjax measure` (25-75 percentile trimmed "
            "mean; CV = std / mean of the repeated timings).",
            "",
            _markdown_table(header, rows),
            "",
        ]
    )


# ------------------------------------------------------------ (b) Kendall tau
_kendall = jax.jit(metrics.kendall_tau)


def _comparison_columns(table) -> list[str]:
    latency = [
        c
        for c in table.column_names
        if (c.startswith("cifar10/") and c.endswith("_latency"))
        or c.startswith(("help/", "latbench/"))
    ]
    latency = [c for c in latency if c != measured.SHIPPED_COLUMN]
    return latency + [c for c in COST_COLUMNS if c in table.columns]


def kendall_section(table, sources: list[Source], cells: np.ndarray) -> str:
    archs = data.nb201.benchmark_archs()[cells]
    classes = measured.nb201_class_of_benchmark_index()[cells]
    columns = _comparison_columns(table)
    rows = []
    for column in columns:
        other = np.asarray(table.query(archs, column), np.float32)
        row = [f"`{column}`"]
        for source in sources:
            ours = source.per_class[classes]
            both = np.isfinite(ours) & np.isfinite(other)
            tau = float(_kendall(ours, other, jnp.asarray(both)))
            row.append(f"{tau:.3f} ({both.sum():,})")
        rows.append(row)
    return "\n".join(
        [
            "## (b) Kendall tau against other devices, FLOPs and params",
            "",
            "Kendall tau-b over the measured classes (one architecture each) known "
            "in both; the number of architectures in brackets.",
            "",
            _markdown_table(["column"] + [f"`{s.name}`" for s in sources], rows),
            "",
        ]
    )


def scatter_plot(table, source: Source, cells: np.ndarray, path: pathlib.Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = data.nb201.benchmark_archs()[cells]
    ours = source.per_class[measured.nb201_class_of_benchmark_index()[cells]]
    wanted = ("cifar10/flops", "cifar10/raspi4_latency", "help/gold_6226")
    columns = [c for c in wanted if c in table.columns]
    figure, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.5))
    for axis, column in zip(np.atleast_1d(axes), columns):
        axis.scatter(np.asarray(table.query(archs, column)), ours, s=2, alpha=0.4)
        axis.set_xlabel(column)
        axis.set_ylabel(f"{source.name} latency (ms)")
    save_figure(figure, path, dpi=110)


# ------------------------------------------------- (c) GCN latency predictor
def gcn_predictor(config: Config, source: Source, cells: np.ndarray) -> str:
    """Trains a BRP-NAS GCN (MSE on latency / training mean) on ``num_train``
    measured cells; the share of the rest within ``tolerance`` and Kendall tau."""
    title = f"## (c) GCN latency predictor on `{source.name}`"
    try:
        from nasjax import surrogates
    except ImportError as error:
        return f"{title}\n\nSkipped: nasjax.surrogates is not importable ({error}).\n"
    classes = measured.nb201_class_of_benchmark_index()[cells]
    latency = source.per_class[classes]
    cells, latency = cells[np.isfinite(latency)], latency[np.isfinite(latency)]
    if len(cells) <= config.num_train:
        return (
            f"{title}\n\nSkipped: {len(cells)} measured cells, need more than "
            f"{config.num_train}.\n"
        )
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(cells))
    train, test = order[: config.num_train], order[config.num_train :]
    adjacency, features = surrogates.graph_inputs(
        spaces.nb201(), jnp.asarray(data.nb201.benchmark_archs()[cells])
    )
    scale = float(latency[train].mean())
    fit_config = surrogates.FitConfig(
        loss="mse", pairing="groups", epochs=config.epochs
    )
    model = surrogates.Predictor(head=fit_config.head)
    key_init, key_fit = jax.random.split(jax.random.key(config.seed))
    params = surrogates.init_params(model, key_init, adjacency[:1], features[:1])
    training = surrogates.TrainingSet(
        adjacency[train],
        features[train],
        jnp.asarray(latency[train] / scale),
        jnp.ones(len(train), bool),
    )
    result = jax.jit(lambda p, k, d: surrogates.fit(model, p, k, d, fit_config))(
        params, key_fit, training
    )
    embeddings = model.apply(result.params, adjacency[test], features[test])
    predicted = scale * np.asarray(
        model.apply(result.params, embeddings, method=surrogates.Predictor.unary)
    )
    truth = latency[test]
    within = np.abs(predicted - truth) <= config.tolerance * truth
    tau = float(_kendall(jnp.asarray(predicted), jnp.asarray(truth)))
    return "\n".join(
        [
            title,
            "",
            f"Trained on {len(train)} measured cells (MSE on latency / training "
            f"mean, {int(result.epochs_run)} epochs), tested on the other "
            f"{len(test):,}: {100 * within.mean():.1f}% predicted within "
            f"±{100 * config.tolerance:.0f}% of the measured latency, Kendall tau "
            f"{tau:.3f}.",
            "",
        ]
    )


# ----------------------------------------------------------------- shipping
def ship(path: pathlib.Path, note: str) -> None:
    """Writes ``path``'s per-class latencies, setup and ``note`` (the conditions) into
    ``nasjax/resources``."""
    source = _from_file("nasjax_cpu", path)
    if source.setup["backend"] != "cpu":
        raise data.DataError(f"{str(path)!r} was not measured on a CPU")
    buffer = io.BytesIO()
    np.save(buffer, source.per_class.astype(np.float32))
    name = measured.SHIPPED_RESOURCE
    write_atomic(RESOURCES / f"{name}.npy", buffer.getvalue())
    metadata = {
        **source.setup,
        "date": datetime.date.today().isoformat(),
        "note": note,
        "space": "nb201",
        "order": "one float32 per isomorphism class, ordered by the space index of "
        "its lowest member; NaN where not measured",
    }
    write_atomic(
        RESOURCES / f"{name}.json", (json.dumps(metadata, indent=1) + "\n").encode()
    )
    for suffix in (".npy", ".json"):
        (RESOURCES / f"{name}{suffix}").chmod(0o644)
    log(f"shipped {source.setup['classes_measured']} classes from {path}")


# ----------------------------------------------------------------------- main
def run_experiment(config: Config, args) -> pathlib.Path:
    start = time.perf_counter()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = data.load_table("nb201", args.data)
    sources = [_shipped() if args.cpu is None else _from_file("nasjax_cpu", args.cpu)]
    if args.gpu is not None:
        sources.append(_from_file("nasjax_gpu", args.gpu))
    cells = representatives()
    measured_somewhere = np.zeros(len(cells), bool)
    for source in sources:
        measured_somewhere |= np.isfinite(source.per_class)
    cells = cells[measured_somewhere]
    if config.max_cells is not None and len(cells) > config.max_cells:
        rng = np.random.default_rng(config.seed)
        cells = np.sort(rng.choice(cells, config.max_cells, replace=False))
    log(f"{len(cells)} measured classes; {config}")
    sections = [
        "# nasjax's own latency measurements (NAS-Bench-201)",
        "",
        measurement_section(sources),
        kendall_section(table, sources, cells),
        gcn_predictor(config, sources[0], cells),
    ]
    scatter_plot(table, sources[0], cells, out / "latency_scatter.png")
    elapsed = time.perf_counter() - start
    sections += ["## Wall time", "", f"{elapsed:.1f} s.", ""]
    path = out / "measure.md"
    write_atomic(path, "\n".join(sections).encode())
    log(f"wrote {path} in {elapsed:.1f}s")
    return path


def main(argv: list[str] | None = None) -> pathlib.Path | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="data folder (or $NASJAX_DATA)")
    parser.add_argument("--out", default="results/measure", type=pathlib.Path)
    parser.add_argument("--cpu", type=pathlib.Path, help="CPU measurement file")
    parser.add_argument("--gpu", type=pathlib.Path, help="GPU measurement file")
    parser.add_argument("--quick", action="store_true", help="tiny test setting")
    parser.add_argument(
        "--ship", type=pathlib.Path, help="write FILE into nasjax/resources and stop"
    )
    parser.add_argument("--note", default="", help="--ship: the conditions, in words")
    args = parser.parse_args(argv)
    if args.ship is not None:
        ship(args.ship, args.note)
        return None
    return run_experiment(get_config(quick=args.quick), args)


if __name__ == "__main__":
    main()
