"""``nasjax sweep``: a stored, resumable grid of searches; ``--summary``
tabulates and plots it.
"""

from __future__ import annotations

import os
import pathlib
import sys

from nasjax._progress import Bar
from nasjax.cli._common import check_outputs, fail, integer, progress
from nasjax.io import dumps_json


def add_parser(commands) -> None:
    """Adds ``sweep`` to the ``nasjax`` subcommands."""
    from nasjax import data, search
    from nasjax import sweep as sweep_module

    datasets = sorted(
        {d for s in data.SEARCH_COLUMNS.values() for d in s} | {"cifar10-valid"}
    )
    sweep = commands.add_parser(
        "sweep",
        help="a stored, resumable grid of searches (strategies x datasets x devices "
        "x limits); --summary tabulates and plots it",
    )
    sweep.add_argument("--spec", help="JSON file with the keys below (flags override)")
    sweep.add_argument("--space", choices=sorted(data.SEARCH_COLUMNS))
    sweep.add_argument(
        "--strategies", help=f"comma-separated: {sorted(search.REGISTRY)}"
    )
    sweep.add_argument("--datasets", help=f"comma-separated: {datasets}")
    sweep.add_argument("--devices", help="comma-separated devices, e.g. edgegpu,raspi4")
    sweep.add_argument("--limits", help="comma-separated latency limits (ms) or none")
    sweep.add_argument("--objectives", help="comma-separated columns (override)")
    bound = {name: integer(*limits) for name, limits in sweep_module.BOUNDS.items()}
    sweep.add_argument("--seeds", type=bound["seeds"], help="seeds per configuration")
    sweep.add_argument("--seed", type=bound["seed"], help="base PRNG seed")
    sweep.add_argument(
        "--queries", type=bound["queries"], help="unique queries per seed"
    )
    sweep.add_argument(
        "--batch-size", type=bound["batch_size"], help="architectures asked per round"
    )
    sweep.add_argument(
        "--hv-every", type=bound["hv_every"], help="queries between HV points"
    )
    sweep.add_argument(
        "--summary",
        action="store_true",
        help="tabulate the store (files in it that are not valid records are named "
        "and skipped)",
    )
    sweep.add_argument(
        "--out",
        required=True,
        help="sweep folder (the store): a rerun redoes only missing or broken "
        "configurations; runs on one store share them",
    )
    sweep.add_argument("--data", help="data folder (default: $NASJAX_DATA)")
    sweep.add_argument("--json", action="store_true", help="machine-readable output")
    sweep.set_defaults(handler=run)


def join_hosts() -> None:
    """``jax.distributed.initialize`` when the environment asks for several processes:
    ``JAX_COORDINATOR_ADDRESS`` (with ``NASJAX_NUM_PROCESSES`` and ``NASJAX_PROCESS_ID``
    unless a cluster such as SLURM tells JAX), or ``NASJAX_DISTRIBUTED=1`` (all of it
    from the cluster)."""
    environ = os.environ
    if not environ.get("JAX_COORDINATOR_ADDRESS") and (
        environ.get("NASJAX_DISTRIBUTED") != "1"
    ):
        return
    import jax

    count, index = (environ.get(f"NASJAX_{n}") for n in ("NUM_PROCESSES", "PROCESS_ID"))
    try:
        jax.distributed.initialize(
            num_processes=None if count is None else int(count),
            process_id=None if index is None else int(index),
        )
    except (ValueError, TypeError, RuntimeError) as error:
        reason = " ".join(str(error).split())
        fail(
            f"cannot join the other processes: {reason} (set JAX_COORDINATOR_ADDRESS, "
            "NASJAX_NUM_PROCESSES and NASJAX_PROCESS_ID, or NASJAX_DISTRIBUTED=1 on a "
            "cluster JAX detects, such as SLURM)"
        )


def run(args) -> int:
    from nasjax import data, sweep

    out = pathlib.Path(args.out)
    check_outputs(
        (out, True, ("summary.md", "hypervolume.png", "fronts.png")),
        (out / sweep.CONFIGS_DIR, True, ()),
    )

    def note(message):
        if not args.json:
            sys.stderr.write(message + "\n")

    def warn(message):
        sys.stderr.write(f"nasjax: warning: {message}\n")

    if args.summary:
        table = sweep.summarise(out, warn=warn)
        if args.json:
            records = sweep.load_store(out)
            print(dumps_json({"out": str(out), "configs": len(records)}))
        else:
            print(table, end="")
            print(f"wrote {out / 'summary.md'}, hypervolume.png and fronts.png")
        return 0
    spec = {} if args.spec is None else sweep.load_spec(args.spec).to_dict()
    lists = ("strategies", "datasets", "devices", "objectives")
    for name in lists + ("space", "seeds", "seed", "queries", "batch_size", "hv_every"):
        value = getattr(args, name)
        if value is not None:
            spec[name] = [v for v in value.split(",") if v] if name in lists else value
    if args.limits is not None:
        try:
            spec["limits"] = [
                None if v.lower() == "none" else float(v)
                for v in args.limits.split(",")
            ]
        except ValueError:
            fail(f"--limits takes numbers or 'none', comma-separated: {args.limits!r}")
    spec = sweep.SweepSpec.from_dict(spec)
    configs = spec.configs()
    join_hosts()  # before JAX starts its backends
    with progress("loading the benchmark table", enabled=not args.json):
        table = data.load_table(spec.space, args.data)
    statuses = sweep.run_sweep(
        spec,
        out,
        table=table,
        progress=lambda message: Bar(
            spec.seeds * spec.queries, message, enabled=not args.json
        ),
        skipped=note,
        warn=warn,
    )
    ran = sum(s["status"] == "ran" for s in statuses)
    if args.json:
        print(dumps_json({"out": str(out), "configs": statuses}))
    else:
        print(
            f"{len(configs)} configurations: {ran} ran, {len(configs) - ran} already "
            f"in {out / sweep.CONFIGS_DIR}; `nasjax sweep --summary --out {out}` "
            "tabulates them"
        )
    return 0
