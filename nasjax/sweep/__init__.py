"""Sweeps: a grid of searches (strategies x datasets x devices x limits), stored.

A sweep runs every configuration of a grid over strategies, datasets, devices and
constraint limits for one search space, each for ``seeds`` seeds vmapped in one jitted
call, and stores each finished configuration as one JSON file, so a sweep that is
killed resumes where it stopped. Usage::

    nasjax sweep --space nb201 --strategies rea,random,nsga2 \\
        --datasets cifar10,cifar100 --devices edgegpu,raspi4 --limits 5,10 \\
        --seeds 100 --queries 100 --out DIR [--data DIR] [--json]
    nasjax sweep --spec sweep.json --out DIR       # the same keys in a JSON object
    nasjax sweep --summary --out DIR               # DIR/summary.md and two plots

A spec file is a JSON object with the keys of :class:`SweepSpec` (``space``,
``strategies``, ``datasets``, ``devices``, ``limits``, ``seeds``, ``seed``,
``queries``, ``objectives``, ``batch_size``, ``hv_every``); flags given next to
``--spec`` override its keys. ``--limits none,5`` (``null`` in JSON) adds an
unconstrained configuration next to the constrained ones.

What each configuration searches:

* A single-objective strategy (``Strategy.num_objectives == 1``: ``rea``,
  ``random``) optimises the dataset's search column (:func:`search_columns`:
  ``(objective, report)``); with a device and a limit, it searches under the
  constraint ``device_column(table, dataset, device) <= limit``.
* A multi-objective strategy (``nsga2``, ``mo-rea``) optimises ``(objective, device
  latency)``, with the limit as a constraint when one is given.
* ``objectives`` (``--objectives col_a,col_b``) replaces the objective columns (any
  table columns, each minimised or maximised by :func:`higher_is_better`): a
  single-objective strategy optimises the first; a multi-objective one all of them,
  or the only one and the device latency. Without a device there is no constraint
  and no latency objective, so multi-objective strategies then need two
  ``objectives``.

Every configuration with two or more "front" columns (the multi-objective columns
above, also for single-objective strategies, whose queried architectures are looked
up in them) gets a hypervolume curve per seed and the final non-dominated points.

**Hypervolume normalisation** (:func:`nasjax.pareto.analyse`). Each front column ``c``
is mapped to ``x = (v - best_c) / (worst_c - best_c)``, where ``best_c`` and ``worst_c``
are the best and worst values of ``c`` (max and min for an accuracy, min and max
otherwise) over the table rows where every front column is known. So 0 is the table's
best value and 1 its worst, every objective is minimised, and the reference point is
``(1, ..., 1)``. The curve at query ``t`` is the hypervolume of the first ``t`` recorded
architectures (all feasible: infeasible ones are never recorded), every ``hv_every``
queries. Each record also holds ``table_hv``, the hypervolume of the table's exact
(feasible) front, the most any search can reach.

**Store.** ``DIR/configs/<id>.json`` per configuration, ``id`` = a readable slug and
the first 10 hex digits of the SHA-256 of the canonical JSON of the configuration
(:attr:`Config.id`). A file is written through a temporary file and ``os.replace``, so
it is complete or absent; a rerun skips every configuration whose file holds a valid
record of it (:func:`record_problem`: complete, of this schema and configuration,
finite where it must be) and redoes, with a warning naming the file, one that does not.
Other files in ``configs/`` are ignored with a note. Runs on one store share the work:
a run holds an ``fcntl.flock`` on ``configs/<id>.json.lock`` while it runs that
configuration, others skip it and come back to it at the end (waiting on the lock),
so each configuration runs once between them; a killed run's lock is released by the
kernel and its configuration is run by whoever comes next.

**Devices and hosts.** The seeds of a configuration are sharded over a 1-D
``jax.sharding.Mesh`` of ``jax.devices()`` with axis ``"seeds"``
(:func:`nasjax.search.seed_mesh`); the ``[R]`` keys are padded to a multiple of the
device count, placed with ``NamedSharding(mesh, P("seeds"))``, and the padding is
dropped from the results. The same code runs on one CPU, several GPUs/TPUs, or many
hosts: on each host call ``jax.distributed.initialize()`` before anything else, then run
the same sweep; ``jax.devices()`` is then global, results are all-gathered, the store
listing is broadcast from process 0 and only process 0 writes files (DIR must be
shared).

Modules: :mod:`~nasjax.sweep.spec` (the grid and its checks),
:mod:`~nasjax.sweep.record` (what a search writes, shared with ``nasjax search``),
:mod:`~nasjax.sweep.store` (running and the store), :mod:`~nasjax.sweep.report`
(the summary and plots).
"""

from nasjax.sweep.record import hypervolume_record, search_record
from nasjax.sweep.report import summarise, summary_table
from nasjax.sweep.spec import BOUNDS, Config, Plan, SweepSpec, load_spec, plan
from nasjax.sweep.store import (
    CONFIGS_DIR,
    load_store,
    read_record,
    record_problem,
    run_config,
    run_sweep,
)

__all__ = [
    "BOUNDS",
    "CONFIGS_DIR",
    "Config",
    "Plan",
    "SweepSpec",
    "hypervolume_record",
    "load_spec",
    "load_store",
    "plan",
    "read_record",
    "record_problem",
    "run_config",
    "run_sweep",
    "search_record",
    "summarise",
    "summary_table",
]
