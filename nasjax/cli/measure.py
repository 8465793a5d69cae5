"""``nasjax measure``: inference latency of architectures on this machine's JAX backend,
into a resumable latency table."""

from __future__ import annotations

import pathlib
import sys

from nasjax.cli._common import SEED_MAX, check_outputs, fail, integer
from nasjax.io import dumps_json

SETUP = ("dataset", "batch_size", "backend", "device_kind", "host_cpu", "jax_version")


def add_parser(commands) -> None:
    """Adds ``measure`` to the ``nasjax`` subcommands."""
    measure = commands.add_parser(
        "measure",
        help="time architectures on this machine's JAX backend into a resumable "
        "latency table",
    )
    measure.add_argument("--space", choices=("nb201", "fbnet"), default="nb201")
    measure.add_argument(
        "--dataset",
        help="the network's dataset: nb201 cifar10 (default), cifar10-valid, "
        "cifar100, ImageNet16-120; fbnet cifar100 (default), ImageNet",
    )
    which = measure.add_mutually_exclusive_group()
    which.add_argument(
        "--archs",
        help="'all' (nb201's 15,625, the default) or a file of arch strings, one a "
        "line",
    )
    which.add_argument(
        "--sample", type=integer(1, 10**6), help="N architectures drawn at random"
    )
    which.add_argument(
        "--select",
        type=integer(1, 10**4),
        metavar="K",
        help="the K architectures `nasjax adapt` learns your device from best "
        "(greedy D-optimal under the hardware prior of the table's devices, so "
        "--select 20 adds 10 to --select 10): nb201 among the cells with an "
        "input-output path (one per isomorphism class with --unique), fbnet among "
        "HELP's 5,000 sampled archs",
    )
    measure.add_argument(
        "--seed", type=integer(0, SEED_MAX), default=0, help="PRNG seed of --sample"
    )
    measure.add_argument(
        "--unique",
        action="store_true",
        help="time one cell per isomorphism class and copy it to the others",
    )
    measure.add_argument(
        "--batch-size", type=integer(1, 4096), default=1, help="images per call"
    )
    measure.add_argument(
        "--warmup", type=integer(0, 10**4), default=3, help="untimed runs"
    )
    measure.add_argument(
        "--repeats", type=integer(2, 10**5), default=30, help="timed runs"
    )
    measure.add_argument(
        "--device", help="BACKEND[:INDEX], e.g. cpu, gpu:1 (default: JAX's default)"
    )
    measure.add_argument(
        "--cores",
        help="pin to these CPU cores, e.g. 1 or 2,3 (Linux); one core also runs XLA "
        "single-threaded: steadier CPU timings",
    )
    measure.add_argument(
        "--max-new",
        type=integer(0, 10**6),
        help="time at most N architectures in this run",
    )
    measure.add_argument(
        "--out",
        required=True,
        help="the latency table (.parquet); resumed if present (rows with a bad "
        "arch_str or latency are timed again); runs on one file share it",
    )
    measure.add_argument("--json", action="store_true", help="machine-readable output")
    measure.set_defaults(handler=run)


def _archs(args, space):
    import jax

    from nasjax import encodings

    if args.sample is not None:
        if args.sample < 1:
            fail(f"--sample takes a positive count, got {args.sample}")
        return space.sample(jax.random.key(args.seed), args.sample)
    if args.select is not None:
        from nasjax.cli.adapt import select_archs

        return select_archs(
            args.space, args.select, unique=args.unique, show=not args.json
        )
    if args.archs in (None, "all"):
        every = encodings.adapter(space).benchmark_archs  # in the benchmark's order
        if every is None:
            fail(f"--space {args.space} needs --sample N or --archs FILE")
        return every()
    path = pathlib.Path(args.archs)
    if not path.is_file():
        fail(f"--archs takes 'all' or a file of arch strings; no file {args.archs!r}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        fail(f"--archs {args.archs}: cannot read it ({type(error).__name__})")
    strings = [line.strip() for line in text.splitlines() if line.strip()]
    if not strings:
        fail(f"{args.archs!r} holds no arch strings")
    return space.from_strings(strings)


def run(args) -> int:
    from nasjax import measure, spaces

    check_outputs((args.out, False, ()))
    if args.cores is not None:
        measure.pin_cores(args.cores)

    space = spaces.get(args.space)
    result = measure.measure(
        args.space,
        _archs(args, space),
        args.out,
        dataset=args.dataset,
        batch_size=args.batch_size,
        warmup=args.warmup,
        repeats=args.repeats,
        device=args.device,
        unique=args.unique,
        max_new=args.max_new,
        progress=not args.json,
        note=lambda line: sys.stderr.write(f"nasjax: note: {line}\n"),
    )
    frame, stats = result.frame, measure.timing_summary(result.timed)
    setup = frame[list(SETUP)].iloc[:1].to_dict("records")[0] if len(frame) else {}
    if args.json:
        counts = {
            "rows": len(frame),
            "timed": len(result.timed),
            "copied": result.num_copied,
            "skipped": result.num_skipped,
            "left": result.num_left,
            "invalid": result.num_invalid,
            "wall_s": result.wall_s,
        }
        print(dumps_json({"out": args.out, **counts, **stats, "setup": setup}))
        return 0
    if len(result.timed):
        print(
            f"timed {len(result.timed)} architectures in {result.wall_s:.1f} s: "
            f"compile {stats['mean_compile_s']:.2f} s + measure "
            f"{stats['mean_measure_s']:.2f} s each on average, median CV "
            f"{100 * stats['median_cv']:.1f}%"
        )
    print(
        f"copied {result.num_copied} from isomorphic cells, skipped "
        f"{result.num_skipped} already measured, {result.num_left} left"
        + (" (--max-new reached; rerun to resume)" if result.num_left else "")
    )
    if setup:
        print(
            f"{args.out}: {len(frame)} architectures, latency "
            f"{frame['latency_ms'].min():.3g}-{frame['latency_ms'].max():.3g} ms, "
            f"{setup['dataset']} batch {setup['batch_size']} on {setup['backend']} "
            f"({setup['device_kind']}; {setup['host_cpu']}), jax {setup['jax_version']}"
        )
    return 0
