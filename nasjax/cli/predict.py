"""``nasjax predict``: train a BRP-NAS predictor on N architectures, score the rest.

Values come from a table column (``--column``, e.g. ``cifar100/valid_acc`` or
``cifar10/edgegpu_latency``) or from the user's own CSV/parquet of (arch string,
value) rows (``--file``). Writes ``metrics.json`` and ``predictions.csv`` atomically.
"""

from __future__ import annotations

import io
import json
import pathlib

import numpy as np

from nasjax._io import write_atomic
from nasjax.cli._common import fail, progress


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
    source.add_argument("--file", help="your CSV or parquet of (arch, value) rows")
    parser.add_argument("--arch-column", default="arch", help="--file's arch column")
    parser.add_argument("--value-column", default="value", help="--file's values")
    parser.add_argument(
        "--higher-is-better",
        action="store_true",
        help="--file's values are an accuracy (default: a cost, lower is better)",
    )
    parser.add_argument("--train", type=int, default=100, help="random training archs")
    parser.add_argument(
        "--train-archs", help="file of training arch strings, a line each"
    )
    parser.add_argument(
        "--predictor",
        choices=surrogates.PRESETS,
        help="brp (binary, ranks) for accuracies; latency (unary) for costs (default)",
    )
    parser.add_argument("--mode", default="fast", choices=("fast", "faithful"))
    parser.add_argument("--epochs", type=int, help="epochs (default 250)")
    parser.add_argument("--batch-size", type=int, help="pairs or models per step")
    parser.add_argument(
        "--validation", type=int, default=0, help="held-out archs monitored in training"
    )
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed")
    parser.add_argument("--out", default="results/predict", help="output folder")
    parser.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def _read_user_file(path: str, space, arch_column: str, value_column: str):
    import pandas as pd

    file = pathlib.Path(path)
    if not file.is_file():
        fail(f"--file {path}: no such file")
    try:
        frame = (
            pd.read_parquet(file) if file.suffix == ".parquet" else pd.read_csv(file)
        )
    except Exception as error:  # noqa: BLE001 - any unreadable file: one line
        fail(f"--file {path}: cannot read it as CSV or parquet ({error})")
    for column in (arch_column, value_column):
        if column not in frame.columns:
            fail(
                f"--file {path} has no column {column!r}; it has {list(frame.columns)}"
            )
    try:
        archs = space.from_strings([str(s) for s in frame[arch_column]])
    except ValueError as error:
        fail(f"--file {path}: {error}")
    values = pd.to_numeric(frame[value_column], errors="coerce").to_numpy(np.float64)
    return archs, values


def run(args) -> int:
    import jax

    from nasjax import data, spaces, surrogates

    if args.train < 2 or args.validation < 0:
        fail("--train must be at least 2 and --validation non-negative")
    if args.epochs is not None and args.epochs < 1:
        fail("--epochs must be a positive integer")
    if args.batch_size is not None and args.batch_size < 1:
        fail("--batch-size must be a positive integer")
    space = spaces.get(args.space)
    if args.file:
        archs, values = _read_user_file(
            args.file, space, args.arch_column, args.value_column
        )
        higher_is_better, name = args.higher_is_better, args.value_column
    else:
        with progress("loading the benchmark table", enabled=not args.json):
            table = data.load_table(args.space, args.data, require=(args.column,))
        archs = np.asarray(table.archs)
        values = np.asarray(table.values(args.column), np.float64)
        higher_is_better, name = data.higher_is_better(args.column), args.column
    known = np.flatnonzero(np.isfinite(values))
    rng = np.random.default_rng(args.seed)
    if args.train_archs:
        try:
            text = pathlib.Path(args.train_archs).read_text()
        except OSError as error:
            fail(f"--train-archs: {error.strerror}: {args.train_archs}")
        listed = space.from_strings([s for s in text.split() if s])
        keys = {a.tobytes(): i for i, a in enumerate(archs[known])}
        missing = [space.to_string(a) for a in listed if a.tobytes() not in keys]
        if missing:
            fail(
                f"--train-archs: {len(missing)} archs have no value, e.g. {missing[0]}"
            )
        train = known[[keys[a.tobytes()] for a in listed]]
    else:
        if args.train + args.validation >= len(known):
            fail(
                f"--train {args.train} + --validation {args.validation} leaves no "
                f"architectures to test: {len(known)} have values"
            )
        train = rng.choice(known, args.train, replace=False)
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
    out = pathlib.Path(args.out)
    write_atomic(out / "metrics.json", json.dumps(output, indent=1).encode())
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
        print(json.dumps({**output, "out": str(out)}))
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
