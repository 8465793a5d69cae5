"""``nasjax predict``: train a BRP-NAS predictor on N architectures, score the rest.

Values come from a table column (``--column``, e.g. ``cifar100/valid_acc`` or
``cifar10/edgegpu_latency``) or from the user's own CSV/parquet of (arch string,
value) rows (``--file``). Writes ``metrics.json`` and ``predictions.csv`` atomically.

A user's file is cleaned before the split, and every change is reported: rows whose
value is empty, text or infinite are dropped and counted; rows of one architecture are
averaged into one (so no architecture is in both the train and the test split); a
cost (the default, not ``--higher-is-better``) must be positive.
"""

from __future__ import annotations

import io
import pathlib
import sys

import numpy as np

from nasjax.cli._common import SEED_MAX, check_outputs, fail, integer, progress
from nasjax.io import dumps_json, write_atomic

MIN_TEST = 10  # test architectures the metrics need at least
OUTPUTS = ("metrics.json", "predictions.csv")


def add_parser(commands) -> None:
    """Adds ``predict`` to the ``nasjax`` subcommands."""
    from nasjax import spaces, surrogates

    parser = commands.add_parser(
        "predict",
        help="train a GCN predictor on N architectures and report metrics on the rest",
    )
    parser.add_argument("--space", default="nb201", choices=sorted(spaces.SPACES))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--column", help="a table column, e.g. cifar100/valid_acc")
    source.add_argument(
        "--file",
        help="your CSV or parquet of (arch, value) rows; rows with an empty, text or "
        "infinite value are dropped (and counted), rows of one architecture averaged",
    )
    parser.add_argument("--arch-column", default="arch", help="--file's arch column")
    parser.add_argument("--value-column", default="value", help="--file's values")
    parser.add_argument(
        "--higher-is-better",
        action="store_true",
        help="--file's values are an accuracy (default: a cost, lower is better, "
        "which must be positive)",
    )
    parser.add_argument(
        "--train",
        type=integer(2, 10**6),
        default=100,
        help="random training archs (at least 10 others are left to test)",
    )
    parser.add_argument(
        "--train-archs", help="file of training arch strings, a line each"
    )
    parser.add_argument(
        "--predictor",
        choices=surrogates.PRESETS,
        help="brp (binary, ranks) for accuracies; latency (unary) for costs (default)",
    )
    parser.add_argument("--mode", default="fast", choices=("fast", "faithful"))
    parser.add_argument("--epochs", type=integer(1, 10**5), help="epochs (default 250)")
    parser.add_argument(
        "--batch-size", type=integer(1, 10**6), help="pairs or models per step"
    )
    parser.add_argument(
        "--validation",
        type=integer(0, 10**6),
        default=0,
        help="held-out archs monitored in training",
    )
    parser.add_argument(
        "--seed", type=integer(0, SEED_MAX), default=0, help="PRNG seed"
    )
    parser.add_argument("--out", default="results/predict", help="output folder")
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def note(message: str) -> None:
    """A line on stderr about what was done to the input (not an error)."""
    sys.stderr.write(f"nasjax: note: {message}\n")


def _read_user_file(
    path: str, space, arch_column: str, value_column: str, *, cost: bool
):
    """``[A, S]`` archs and ``[A]`` values of a user's file, cleaned (see the module
    docstring), and ``{"dropped": {...}, "averaged": n}`` saying what was cleaned."""
    import pandas as pd

    file = pathlib.Path(path)
    if not file.is_file():
        fail(f"--file {path}: no such file")
    try:
        frame = (
            pd.read_parquet(file) if file.suffix == ".parquet" else pd.read_csv(file)
        )
    except Exception as error:  # noqa: BLE001 - any unreadable file: one line
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        fail(f"--file {path}: cannot read it as CSV or parquet ({reason})")
    for column in (arch_column, value_column):
        if column not in frame.columns:
            fail(
                f"--file {path} has no column {column!r}; it has {list(frame.columns)}"
            )
    if not len(frame):
        fail(f"--file {path} holds no rows, only a header")
    raw = frame[value_column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
    empty = raw.isna().to_numpy()
    dropped = {
        "empty": int(empty.sum()),
        "text": int((~empty & np.isnan(values)).sum()),
        "infinite": int(np.isinf(values).sum()),
    }
    keep = np.isfinite(values)
    try:
        archs = space.from_strings([str(s).strip() for s in frame[arch_column][keep]])
    except ValueError as error:
        fail(f"--file {path}: {error}")
    values = values[keep]
    if not len(values):
        fail(f"--file {path}: no row has a numeric value in {value_column!r}")
    if cost and np.any(values <= 0):
        bad = np.flatnonzero(values <= 0)
        fail(
            f"--file {path}: {len(bad)} rows have a value <= 0 (e.g. {values[bad[0]]:g}"
            f" for {space.to_string(archs[bad[0]])}); a cost must be positive, or pass "
            "--higher-is-better for an accuracy"
        )
    strings = [space.to_string(a) for a in archs]  # one spelling per architecture
    grouped = pd.Series(values).groupby(strings, sort=False)
    counts = grouped.size().to_numpy()
    averaged = int((counts > 1).sum())
    if averaged:
        means = grouped.mean()
        archs, values = space.from_strings(list(means.index)), means.to_numpy()
    report = {"dropped": dropped, "averaged": averaged}
    if sum(dropped.values()):
        what = ", ".join(f"{n} {kind}" for kind, n in dropped.items() if n)
        note(
            f"--file {path}: dropped {sum(dropped.values())} of {len(frame)} rows "
            f"whose {value_column!r} is not a finite number ({what})"
        )
    if averaged:
        note(
            f"--file {path}: {averaged} architectures appear on several rows "
            f"({int(counts[counts > 1].sum())} rows); each one's values are averaged"
        )
    return archs, values, report


def _listed_train(path: str, space, archs, known) -> np.ndarray:
    """Rows of ``archs[known]`` listed in the ``--train-archs`` file ``path``."""
    try:
        text = pathlib.Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        fail(f"--train-archs {path}: cannot read it ({type(error).__name__})")
    strings = list(dict.fromkeys(text.split()))
    if not strings:
        fail(f"--train-archs {path} holds no arch strings")
    try:
        listed = space.from_strings(strings)
    except ValueError as error:
        fail(f"--train-archs {path}: {error}")
    keys = {a.tobytes(): i for i, a in zip(known, archs[known])}
    missing = [space.to_string(a) for a in listed if a.tobytes() not in keys]
    if missing:
        fail(f"--train-archs: {len(missing)} archs have no value, e.g. {missing[0]}")
    return np.asarray([keys[a.tobytes()] for a in listed])


def _table_values(args):
    from nasjax import data

    with progress("loading the benchmark table", enabled=not args.json):
        table = data.load_table(args.space, args.data)
    if args.column not in table.columns:
        fail(
            f"--column {args.column!r} is not a column of the {args.space} table; "
            f"choose from {sorted(table.column_names)}"
        )
    values = np.asarray(table.values(args.column), np.float64)
    return np.asarray(table.archs), values


def run(args) -> int:
    import jax

    from nasjax import data, spaces, surrogates

    check_outputs((args.out, True, OUTPUTS))
    space = spaces.get(args.space)
    cleaned = None
    if args.file:
        archs, values, cleaned = _read_user_file(
            args.file,
            space,
            args.arch_column,
            args.value_column,
            cost=not args.higher_is_better,
        )
        higher_is_better, name = args.higher_is_better, args.value_column
    else:
        archs, values = _table_values(args)
        higher_is_better, name = data.higher_is_better(args.column), args.column
    known = np.flatnonzero(np.isfinite(values))
    rng = np.random.default_rng(args.seed)
    if args.train_archs:
        train = _listed_train(args.train_archs, space, archs, known)
    else:
        train = rng.choice(known, min(args.train, len(known)), replace=False)
    if len(train) + args.validation + MIN_TEST > len(known):
        fail(
            f"--train {len(train)} + --validation {args.validation} leaves fewer than "
            f"{MIN_TEST} architectures to test: {len(known)} have values"
        )
    rest = np.setdiff1d(known, train)
    held_out = rng.choice(rest, args.validation, replace=False)
    test = np.setdiff1d(rest, held_out)
    predictor = args.predictor or ("brp" if higher_is_better else "latency")
    percent = higher_is_better and "acc" in name and np.nanmax(values) <= 100
    with progress(
        f"training a {predictor} predictor ({args.mode}) on {len(train)} archs",
        enabled=not args.json,
    ):
        trained = surrogates.train_predictor(
            space,
            archs[train],
            values[train],
            jax.random.key(args.seed),
            predictor=predictor,
            mode=args.mode,
            epochs=args.epochs,
            batch_size=args.batch_size,
            percent=bool(percent),
            validation=(archs[held_out], values[held_out]) if len(held_out) else None,
        )
        predicted = surrogates.predict(trained, space, archs[known])
    position = {row: i for i, row in enumerate(known)}
    test_predicted = predicted[[position[r] for r in test]]
    report = surrogates.evaluate(
        test_predicted,
        values[test],
        higher_is_better=higher_is_better,
        values_predicted=trained.model.head == "unary",
    )
    output = {
        "config": {
            "space": args.space,
            "values": name,
            "source": args.file or "table",
            "predictor": predictor,
            "mode": args.mode,
            "train": int(len(train)),
            "validation": int(len(held_out)),
            "test": int(len(test)),
            "seed": args.seed,
            "epochs_run": trained.epochs_run,
        },
        "metrics": report,
    }
    if cleaned is not None:
        output["config"]["file_rows"] = cleaned
    out = pathlib.Path(args.out)
    write_atomic(out / "metrics.json", dumps_json(output, indent=1).encode())
    split = np.full(len(archs), "", dtype=object)
    split[test], split[held_out], split[train] = "test", "validation", "train"
    lines = io.StringIO()
    lines.write("arch,value,predicted,split\n")
    for row, guess in zip(known, predicted):
        lines.write(f"{space.to_string(archs[row])},{float(values[row])!r},")
        lines.write(f"{float(guess)!r},")
        lines.write(f"{split[row]}\n")
    write_atomic(out / "predictions.csv", lines.getvalue().encode())
    if args.json:
        print(dumps_json({**output, "out": str(out)}))
        return 0
    kind = "values" if trained.model.head == "unary" else "ranking scores"
    print(
        f"{predictor} predictor ({args.mode}, {trained.epochs_run} epochs) of {name} "
        f"on {args.space}: trained on {len(train)}, tested on {len(test)} ({kind})"
    )
    for metric, value in report.items():
        if metric != "count":
            print(f"  {metric:<16} {value:.4f}")
    print(f"wrote {out / 'metrics.json'} and {out / 'predictions.csv'}")
    return 0
