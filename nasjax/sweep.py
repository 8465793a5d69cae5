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

**Hypervolume normalisation.** Each front column ``c`` is mapped to
``x = (v - best_c) / (worst_c - best_c)``, where ``best_c`` and ``worst_c`` are the
best and worst values of ``c`` (max and min for an accuracy, min and max otherwise)
over the table rows where every front column is known. So 0 is the table's best value
and 1 its worst, every objective is minimised, and the reference point is
``(1, ..., 1)``. The curve at query ``t`` is the hypervolume of the first ``t``
recorded architectures (all feasible: infeasible ones are never recorded), every
``hv_every`` queries. Each record also holds ``table_hv``, the hypervolume of the
table's exact (feasible) front, the most any search can reach.

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
``jax.sharding.Mesh`` of ``jax.devices()`` with axis ``"seeds"`` (:func:`seed_mesh`);
the ``[R]`` keys are padded to a multiple of the device count, placed with
``NamedSharding(mesh, P("seeds"))``, and the padding is dropped from the results. The
same code runs on one CPU, several GPUs/TPUs, or many hosts: on each host call
``jax.distributed.initialize()`` before anything else, then run the same sweep;
``jax.devices()`` is then global, results are all-gathered, the store listing is
broadcast from process 0 and only process 0 writes files (DIR must be shared).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import pathlib
import re
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from nasjax import _progress, data, search, spaces
from nasjax.data.table import Table, higher_is_better, within_limit
from nasjax.io import locked, write_atomic
from nasjax.search.strategy import SearchResult, Strategy, run_seeds

CONFIGS_DIR = "configs"  # DIR/configs/<id>.json, one per finished configuration
FINAL_NAMES = ("best_valid", "test_of_best_valid", "best_test")
# Bounds of the integer settings (a flag, or a key of a spec file).
BOUNDS = {
    "seeds": (1, 10**5),
    "seed": (0, 2**32 - 1),
    "queries": (1, 10**6),
    "batch_size": (1, 10**4),
    "hv_every": (1, 10**6),
}
RECORD_KEYS = (
    "id",
    "config",
    "columns",
    "labels",
    "num_queries",
    "final",
    "curves",
    "constraint_max",
    "hypervolume",
)


# ------------------------------------------------------------------------ spec
@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A grid of configurations for one search space.

    Attributes:
        space: search-space name (``nb201``).
        strategies: names in :data:`nasjax.search.ALL`.
        datasets: datasets of :func:`nasjax.data.search_columns`.
        devices: hardware devices (:func:`nasjax.data.device_column`); empty: none.
        limits: constraint limits on the device latency (ms); ``None`` in the list
            means unconstrained; empty: unconstrained only.
        seeds: seeds per configuration (vmapped in one call).
        seed: base PRNG seed; every configuration uses the same ``seeds`` keys.
        queries: unique queries per seed.
        objectives: columns replacing the default objectives, or ``None``.
        batch_size: architectures asked per round, or ``None`` for each default.
        hv_every: queries between hypervolume points; ``None``: ``ceil(Q / 100)``.
    """

    space: str = "nb201"
    strategies: tuple[str, ...] = ("rea",)
    datasets: tuple[str, ...] = ("cifar10",)
    devices: tuple[str, ...] = ()
    limits: tuple[float | None, ...] = ()
    seeds: int = 10
    seed: int = 0
    queries: int = 100
    objectives: tuple[str, ...] | None = None
    batch_size: int | None = None
    hv_every: int | None = None

    @classmethod
    def from_dict(cls, spec: Any) -> SweepSpec:
        """Checks keys and types of a JSON object. Raises ``ValueError``."""
        if not isinstance(spec, dict):
            raise ValueError(
                f"a sweep spec must be a JSON object, got {type(spec).__name__}"
            )
        keys = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(spec) - set(keys))
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown} in the sweep spec; valid keys: {keys}"
            )
        values = {}
        for name, value in spec.items():
            values[name] = _check_type(name, value)
        return cls(**values)

    def to_dict(self) -> dict:
        """The JSON object of this spec (lists for tuples)."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()
        }

    def configs(self) -> list[Config]:
        """The grid, dataset-major (a strategy's limits run one after another)."""
        if min(self.seeds, self.queries) < 1 or (
            self.batch_size is not None and self.batch_size < 1
        ):
            raise ValueError("seeds, queries and batch_size must be positive integers")
        if self.hv_every is not None and self.hv_every < 1:
            raise ValueError("hv_every must be a positive integer")
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
        if self.limits and not self.devices and any(x is not None for x in self.limits):
            raise ValueError("a limit needs a device to constrain (--devices)")
        if not self.strategies or not self.datasets:
            raise ValueError("a sweep needs at least one strategy and one dataset")
        if self.space not in data.SEARCH_COLUMNS:
            raise ValueError(
                f"unknown space {self.space!r}; choose from "
                f"{sorted(data.SEARCH_COLUMNS)}"
            )
        for name in self.strategies:
            search.get(name)  # names the valid strategies
        for dataset in self.datasets:
            data.search_columns(self.space, dataset)  # names the valid datasets
        hv_every = self.hv_every or max(1, math.ceil(self.queries / 100))
        return [
            Config(
                space=self.space,
                strategy=strategy,
                dataset=dataset,
                device=device,
                limit=None if limit is None else float(limit),
                seeds=self.seeds,
                seed=self.seed,
                queries=self.queries,
                objectives=self.objectives,
                batch_size=self.batch_size,
                hv_every=hv_every,
            )
            for dataset in self.datasets
            for device in (self.devices or (None,))
            for strategy in self.strategies
            for limit in (
                self.limits if device is not None and self.limits else (None,)
            )
        ]


_TYPES = {
    "space": "str",
    "strategies": "strs",
    "datasets": "strs",
    "devices": "strs",
    "limits": "limits",
    "seeds": "int",
    "seed": "int",
    "queries": "int",
    "objectives": "strs?",
    "batch_size": "int?",
    "hv_every": "int?",
}


def _check_type(name: str, value: Any):
    kind = _TYPES[name]
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and is_int:
        return value
    if kind == "strs" and isinstance(value, list):
        if all(isinstance(v, str) and v for v in value):
            return tuple(value)
    if kind == "limits" and isinstance(value, list):
        numbers = (v is None or _is_number(v) for v in value)
        if all(numbers):
            return tuple(value)
    expected = {
        "str": "a string",
        "int": "an integer",
        "strs": "a list of strings",
        "limits": "a list of numbers (null: unconstrained)",
    }[kind]
    optional = " or null" if _TYPES[name].endswith("?") else ""
    raise ValueError(
        f"sweep spec key {name!r} must be {expected}{optional}, got {value!r}"
    )


def _is_number(value) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Reads a JSON spec file. Host-side. Raises ``ValueError`` when malformed."""
    try:
        text = pathlib.Path(path).read_text()
    except OSError as error:
        raise ValueError(f"cannot read the sweep spec {str(path)!r}: {error}") from None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"the sweep spec {str(path)!r} is not JSON: {error}; expected an object "
            f"with keys {list(_TYPES)}"
        ) from None
    return SweepSpec.from_dict(spec)


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration of a sweep: a strategy on a dataset (and device, limit)."""

    space: str
    strategy: str
    dataset: str
    device: str | None
    limit: float | None
    seeds: int
    seed: int
    queries: int
    objectives: tuple[str, ...] | None
    batch_size: int | None
    hv_every: int

    def to_dict(self) -> dict:
        config = dataclasses.asdict(self)
        if self.objectives is not None:
            config["objectives"] = list(self.objectives)
        return config

    @property
    def label(self) -> str:
        """``rea cifar100 edgegpu<=5``."""
        text = f"{self.strategy} {self.dataset}"
        if self.device is not None:
            text += f" {self.device}"
            if self.limit is not None:
                text += f"<={self.limit:g}"
        if self.objectives:
            text += f" [{','.join(self.objectives)}]"
        return text

    @property
    def id(self) -> str:
        """A readable slug and a hash of the canonical JSON: a stable file name."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
        parts = [self.strategy, self.dataset, self.device or "nodevice"]
        if self.limit is not None:
            parts.append(f"le{self.limit:g}")
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(parts)).strip("-")
        return f"{slug}_{digest}"


# ------------------------------------------------------------------ resolving
class Plan(NamedTuple):
    """What a configuration runs: resolved columns and the strategy's arity."""

    objectives: tuple[str, ...]  # told to the strategy (M = num_objectives)
    report: str
    constraint: str | None
    limit: float | None
    front: tuple[str, ...] | None  # columns of the hypervolume and fronts
    num_objectives: int


@functools.cache
def _strategy(
    space: str, name: str, num_objectives: int, batch_size: int | None
) -> Strategy:
    """One strategy object per setting, so its jitted run compiles once per sweep."""
    factory = search.get(name)
    options = {} if batch_size is None else {"batch_size": batch_size}
    if num_objectives > 1:
        options["num_objectives"] = num_objectives
    return factory(spaces.get(space), **options)


def _is_multi_objective(space: str, name: str) -> bool:
    del space  # the same for every space
    return name in search.MULTI_OBJECTIVE


def plan(config: Config, table: Table) -> Plan:
    """Resolves a configuration's columns against ``table``. Host-side.

    Raises:
        ValueError: unknown strategy, dataset, device or column; a limit without a
            device or with no feasible architecture; a multi-objective strategy with
            fewer than two objectives. The message names the valid choices.
    """
    if config.space not in data.SEARCH_COLUMNS:
        raise ValueError(
            f"unknown space {config.space!r}; choose from {sorted(data.SEARCH_COLUMNS)}"
        )
    search.get(config.strategy)  # names the valid strategies
    objective, report = data.search_columns(config.space, config.dataset)
    for column in (config.objectives or ()) + (objective, report):
        if column not in table.columns:
            raise ValueError(
                f"unknown objective column {column!r}; choose from "
                f"{list(table.column_names)}"
            )
    latency = None
    if config.device is not None:
        latency = data.device_column(table, config.dataset, config.device)
    constraint = None
    if config.limit is not None:
        if latency is None:
            raise ValueError("a limit needs a device to constrain (--devices)")
        constraint = latency
        values = np.asarray(table.values(latency), dtype=np.float64)
        feasible = within_limit(values, latency, config.limit)
        if not feasible.any():
            known = values[~np.isnan(values)]
            raise ValueError(
                f"limit {config.limit:g} on {latency} leaves no feasible architecture;"
                f" choose a limit in [{known.min():.4g}, {known.max():.4g}]"
            )
    primary = config.objectives[0] if config.objectives else objective
    if config.objectives and len(config.objectives) > 1:
        front = tuple(config.objectives)
    elif latency is not None:
        front = (primary, latency)
    else:
        front = None
    if _is_multi_objective(config.space, config.strategy):
        if front is None:
            raise ValueError(
                f"multi-objective strategy {config.strategy!r} needs a device or two "
                "--objectives columns"
            )
        objectives = front
    else:
        objectives = (primary,)
    return Plan(objectives, report, constraint, config.limit, front, len(objectives))


# ------------------------------------------------------------------- running
def seed_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh with axis ``"seeds"`` over ``devices`` (default: all, global)."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.asarray(devices), ("seeds",))


@functools.partial(
    jax.jit,
    static_argnames=(
        "strategy",
        "num_queries",
        "objective",
        "report",
        "constraint",
        "sharding",
        "progress",
    ),
)
def _run_key_data(
    strategy,
    table,
    key_data,
    limit,
    *,
    num_queries,
    objective,
    report,
    constraint,
    sharding,
    progress,
):
    keys = jax.random.wrap_key_data(key_data)
    result = run_seeds(
        strategy,
        table,
        keys,
        num_queries,
        objective=objective,
        report=report,
        constraint=constraint,
        limit=limit,
        progress=progress,
    )._replace(state=None)
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, sharding), result)


def _to_host(x) -> np.ndarray:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def run_sharded(
    strategy: Strategy,
    table: Table,
    keys: PRNGKeyArray,
    num_queries: int,
    *,
    objective: str | tuple[str, ...],
    report: str | None = None,
    constraint: str | None = None,
    limit: float | None = None,
    mesh: Mesh | None = None,
    progress: bool = False,
) -> SearchResult:
    """:func:`run_seeds` with the ``[R]`` seeds sharded over ``mesh``'s devices.

    Pads ``R`` to a multiple of the device count (repeating the last key), shards the
    keys with ``NamedSharding(mesh, P("seeds"))``, replicates the table, and returns
    host NumPy arrays of the ``R`` real seeds (``state`` is dropped). Equal to
    :func:`run_seeds` for the same keys. ``progress``: feed the active
    :class:`nasjax._progress.Bar` from the compiled loop (same results).
    """
    mesh = seed_mesh() if mesh is None else mesh
    num_seeds = keys.shape[0]
    padded = -(-num_seeds // mesh.size) * mesh.size
    key_data = np.asarray(jax.random.key_data(keys))
    key_data = np.concatenate(
        [key_data, np.repeat(key_data[-1:], padded - num_seeds, axis=0)]
    )
    sharding = NamedSharding(mesh, P("seeds"))
    sharded_keys = jax.make_array_from_callback(
        key_data.shape, sharding, lambda index: key_data[index]
    )
    table = jax.device_put(table, NamedSharding(mesh, P()))
    result = _run_key_data(
        strategy,
        table,
        sharded_keys,
        jnp.float32(jnp.inf if limit is None else limit),
        num_queries=num_queries,
        objective=objective,
        report=report,
        constraint=constraint,
        sharding=sharding,
        progress=progress,
    )
    result = jax.tree.map(lambda x: _to_host(x)[:num_seeds], result)
    _progress.finish_run(result)
    return result


@jax.jit
def hypervolume_curves(
    points: Float[Array, "R Q M"], valid: Bool[Array, "R Q"], ends: Array
) -> Float[Array, "R T"]:
    """HV (reference 1) of the first ``ends[t]`` points of each seed. Jittable."""
    from nasjax import pareto

    reference = jnp.ones(points.shape[-1])
    hypervolume = pareto.hypervolume_2d if points.shape[-1] == 2 else pareto.hypervolume
    positions = jnp.arange(points.shape[1])

    def one(objs, mask, end):
        return hypervolume(objs, reference, mask & (positions < end))

    per_end = jax.vmap(one, in_axes=(None, None, 0))
    return jax.vmap(per_end, in_axes=(0, 0, None))(points, valid, ends)


@jax.jit
def non_dominated_per_seed(points, valid):
    """``[R, Q]``: which valid points of each seed none of its others dominates."""
    from nasjax import pareto

    return jax.vmap(pareto.non_dominated)(points, valid)


@functools.partial(jax.jit, static_argnames=("columns",))
def _query_many(table: Table, archs, columns: tuple[str, ...]):
    return table.query_many(archs, columns)


def lookup_values(
    table: Table, archs: np.ndarray, columns: Sequence[str]
) -> np.ndarray:
    """``[R, Q, M]`` values of ``columns`` for recorded ``archs`` (NaN for -1)."""
    return np.asarray(_query_many(table, jnp.asarray(archs), tuple(columns)))


def objective_ranges(
    table: Table, columns: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst value per column over rows where every column is known."""
    values = np.stack(
        [np.asarray(table.values(c), dtype=np.float64) for c in columns], axis=-1
    )
    values = values[np.all(np.isfinite(values), axis=1)]
    maximise = np.array([higher_is_better(c) for c in columns])
    best = np.where(maximise, values.max(0), values.min(0))
    worst = np.where(maximise, values.min(0), values.max(0))
    return best, worst


def normalise_values(
    values: np.ndarray, best: np.ndarray, worst: np.ndarray
) -> np.ndarray:
    """Maps ``best`` to 0 and ``worst`` to 1 per column (a constant column: shifted)."""
    return (values - best) / np.where(worst == best, 1.0, worst - best)


def _table_front(table: Table, plan_: Plan) -> np.ndarray:
    """``[F, M]`` raw values of the exact front of the feasible table rows."""
    from nasjax import pareto

    columns = plan_.front
    values = np.stack(
        [np.asarray(table.values(c), dtype=np.float64) for c in columns], axis=-1
    )
    keep = np.all(np.isfinite(values), axis=1)
    if plan_.constraint is not None:
        bound = np.asarray(table.values(plan_.constraint), dtype=np.float64)
        keep &= within_limit(bound, plan_.constraint, plan_.limit)
    archs = np.asarray(table.archs)[keep]
    sub = Table.from_rows(
        table.space, archs, {c: values[keep, i] for i, c in enumerate(columns)}
    )
    _, front = pareto.table_front(sub, columns)  # sorted, natural units
    return np.asarray(front, dtype=np.float64)


def _nan_to_none(values) -> Any:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        return None if np.isnan(array) else float(array)
    return [_nan_to_none(v) for v in array]


def run_config(
    config: Config, table: Table, *, mesh: Mesh | None = None, progress: bool = False
) -> tuple[dict, SearchResult]:
    """Runs one configuration. Returns its JSON-ready record and the host result.

    ``progress``: feed the active :class:`nasjax._progress.Bar` (same results).

    Raises:
        ValueError: as :func:`plan`.
    """
    plan_ = plan(config, table)
    strategy = _strategy(
        config.space, config.strategy, plan_.num_objectives, config.batch_size
    )
    keys = jax.random.split(jax.random.key(config.seed), config.seeds)
    result = run_sharded(
        strategy,
        table,
        keys,
        config.queries,
        objective=plan_.objectives[0]
        if plan_.num_objectives == 1
        else plan_.objectives,
        report=plan_.report,
        constraint=plan_.constraint,
        limit=plan_.limit,
        mesh=mesh,
        progress=progress,
    )
    finals = (result.best_objective, result.best_objective_report, result.best_report)
    record = {
        "id": config.id,
        "config": config.to_dict(),
        "columns": {
            "objectives": list(plan_.objectives),
            "report": plan_.report,
            "constraint": plan_.constraint,
            "front": None if plan_.front is None else list(plan_.front),
        },
        "labels": {
            "best_valid": f"best {plan_.objectives[0]} so far (best by validation)",
            "test_of_best_valid": f"{plan_.report} of the best-by-validation arch",
            "best_test": f"best {plan_.report} so far (oracle)",
        },
        "num_queries": result.num_queries.tolist(),
        "final": {n: _nan_to_none(c[:, -1]) for n, c in zip(FINAL_NAMES, finals)},
        "curves": {n: _nan_to_none(c) for n, c in zip(FINAL_NAMES, finals)},
        "constraint_max": None,
        "hypervolume": None,
    }
    if plan_.constraint is not None:
        bound = lookup_values(table, result.archs, (plan_.constraint,))[..., 0]
        record["constraint_max"] = _nan_to_none(np.nanmax(bound, axis=1))
    if plan_.front is not None:
        record["hypervolume"] = _hypervolume_record(config, table, plan_, result)
    return record, result


def _hypervolume_record(config, table, plan_, result) -> dict:
    columns = plan_.front
    raw = lookup_values(table, result.archs, columns)  # [R, Q, M]
    valid = np.all(np.isfinite(raw), axis=-1)
    best, worst = objective_ranges(table, columns)
    points = np.where(valid[..., None], normalise_values(raw, best, worst), 1.0)
    ends = np.arange(config.hv_every, config.queries + config.hv_every, config.hv_every)
    ends = np.minimum(ends, config.queries)
    curves = np.asarray(
        hypervolume_curves(
            jnp.asarray(points, jnp.float32), jnp.asarray(valid), jnp.asarray(ends)
        )
    )
    front_mask = np.asarray(
        non_dominated_per_seed(jnp.asarray(points, jnp.float32), jnp.asarray(valid))
    )
    table_front = _table_front(table, plan_)
    table_points = normalise_values(table_front, best, worst)
    table_hv = hypervolume_curves(
        jnp.asarray(table_points[None], jnp.float32),
        jnp.ones((1, len(table_points)), bool),
        jnp.asarray([len(table_points)]),
    )
    fronts = []
    for seed_raw, seed_mask in zip(raw, front_mask):
        found = np.unique(seed_raw[seed_mask], axis=0)
        fronts.append(found[np.lexsort(found.T[::-1])].tolist())
    return {
        "columns": list(columns),
        "normalisation": {
            c: {"best": float(b), "worst": float(w)}
            for c, b, w in zip(columns, best, worst)
        },
        "reference": [1.0] * len(columns),
        "queries": ends.tolist(),
        "curves": _nan_to_none(curves),
        "final": _nan_to_none(curves[:, -1]),
        "table_hv": float(np.asarray(table_hv)[0, 0]),
        "table_front": table_front.tolist(),
        "fronts": fronts,
    }


def _store_listing(paths: Sequence[pathlib.Path]) -> list[bool]:
    """Which of ``paths`` exist, as process 0 sees them (broadcast to all hosts)."""
    done = np.array([p.exists() for p in paths], dtype=np.int32)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        done = np.asarray(multihost_utils.broadcast_one_to_all(done))
    return [bool(d) for d in done]


def _is_number_or_none(value) -> bool:
    return value is None or _is_number(value)


def _grid_problem(values, shape: tuple[int, ...], what: str) -> str | None:
    """Why ``values`` is not nested lists of ``shape`` numbers or nulls."""
    if not shape:
        return None if _is_number_or_none(values) else f"{what} holds {values!r}"
    if not isinstance(values, list) or len(values) != shape[0]:
        return f"{what} is not a list of {shape[0]}"
    for value in values:
        problem = _grid_problem(value, shape[1:], what)
        if problem is not None:
            return problem
    return None


def record_problem(record: Any, config: Config | None = None) -> str | None:
    """Why ``record`` is not a complete stored configuration, or ``None``.

    Checks the keys, that ``config`` (or the record's own) matches its ``id``, the
    shapes of ``num_queries``, ``final`` and ``curves`` (``[R]``, ``[R]`` and
    ``[R, Q]``, numbers or null), and that ``table_hv`` is finite.
    """
    if not isinstance(record, dict):
        return f"not a JSON object but a {type(record).__name__}"
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        return f"lacks keys {missing}"
    if config is None:
        try:
            stored = dict(record["config"])
            if stored.get("objectives") is not None:
                stored["objectives"] = tuple(stored["objectives"])
            config = Config(**stored)
            config.id  # noqa: B018 - hashes and formats every field
        except (TypeError, ValueError, KeyError):
            return "its config is not a sweep configuration"
    if record["config"] != config.to_dict() or record["id"] != config.id:
        return f"it holds another configuration than {config.id}"
    seeds, queries = config.seeds, config.queries
    num_queries = record["num_queries"]
    if not (
        isinstance(num_queries, list)
        and len(num_queries) == seeds
        and all(isinstance(n, int) and 0 <= n <= queries for n in num_queries)
    ):
        return f"num_queries is not {seeds} counts in [0, {queries}]"
    for part, shape in (("final", (seeds,)), ("curves", (seeds, queries))):
        if not isinstance(record[part], dict):
            return f"{part} is not an object"
        for name in FINAL_NAMES:
            problem = _grid_problem(record[part].get(name), shape, f"{part}.{name}")
            if problem is not None:
                return problem
    hv = record["hypervolume"]
    if hv is not None and not (
        isinstance(hv, dict)
        and _is_number(hv.get("table_hv"))
        and _grid_problem(hv.get("final"), (seeds,), "") is None
        and isinstance(hv.get("curves"), list)
        and isinstance(hv.get("columns"), list)
        and isinstance(hv.get("table_front"), list)
        and isinstance(hv.get("fronts"), list)
        and isinstance(hv.get("queries"), list)
    ):
        return "its hypervolume is incomplete"
    return None


def read_record(
    path: pathlib.Path, config: Config | None = None
) -> tuple[dict | None, str | None]:
    """``(record, None)`` for a valid stored record, ``(None, why)`` otherwise
    (``why`` is ``None`` when there is no file)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot read it ({type(error).__name__})"
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as error:
        return None, f"not complete JSON ({error})"
    problem = record_problem(record, config)
    return (None, problem) if problem else (record, None)


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike,
    *,
    table: Table | None = None,
    data_dir: str | os.PathLike | None = None,
    mesh: Mesh | None = None,
    progress: Callable[[str], Any] | None = None,
    skipped: Callable[[str], Any] | None = None,
    warn: Callable[[str], Any] | None = None,
) -> list[dict]:
    """Runs every configuration of ``spec`` not yet in ``out``'s store. Host-side.

    Every configuration is checked (:func:`plan`) before any runs. Each finished
    one is written atomically to ``out/configs/<id>.json``. A stored file that fails
    :func:`record_problem` is named (``warn``) and redone. Concurrent runs on one
    store share the work (see the module docstring); several hosts run every
    configuration together instead, as process 0's store listing says.

    Args:
        spec: the grid.
        out: the sweep folder.
        table: the benchmark table; default loaded from ``data_dir``.
        data_dir: the data folder (default ``$NASJAX_DATA``).
        mesh: the device mesh (default :func:`seed_mesh`).
        progress: ``message -> context manager`` wrapped around each run; the run
            feeds the :class:`nasjax._progress.Bar` it may open.
        skipped: called with a message for each configuration already stored, or
            run by another process on this store.
        warn: called with a message naming each stored file that is redone.

    Returns:
        ``[{"id", "path", "status": "ran" | "stored"}]`` in grid order.
    """

    configs = spec.configs()
    if table is None:
        table = data.load_table(spec.space, data_dir)
    for config in configs:
        plan(config, table)
    folder = pathlib.Path(out) / CONFIGS_DIR
    paths = [folder / f"{c.id}.json" for c in configs]
    statuses: dict[int, dict] = {}
    labels = [f"[{i + 1}/{len(configs)}] {c.label}" for i, c in enumerate(configs)]

    def run_one(i: int) -> None:
        context = progress(labels[i]) if progress is not None else nullcontext()
        with context:
            record, _ = run_config(
                configs[i], table, mesh=mesh, progress=progress is not None
            )
        if jax.process_index() == 0:
            write_atomic(paths[i], json.dumps(record, allow_nan=False).encode())
        statuses[i] = {"id": configs[i].id, "path": str(paths[i]), "status": "ran"}

    def stored(i: int, how: str) -> None:
        if skipped is not None:
            skipped(f"{labels[i]}: {how}, skipped")
        statuses[i] = {"id": configs[i].id, "path": str(paths[i]), "status": "stored"}

    warned = set()

    def valid(i: int) -> bool:
        record, problem = read_record(paths[i], configs[i])
        if problem is not None and warn is not None and i not in warned:
            warn(f"{paths[i]} is redone: {problem}")
            warned.add(i)
        return record is not None

    if jax.process_count() > 1:  # every host runs the same configurations
        for i, done in enumerate(_store_listing(paths)):
            if done and valid(i):
                stored(i, "in the store")
            else:
                run_one(i)
        return [statuses[i] for i in range(len(configs))]

    busy = []  # run by another process when we looked
    for i in range(len(configs)):
        if paths[i].exists() and valid(i):
            stored(i, "in the store")
            continue
        with locked(paths[i], blocking=False) as mine:
            if not mine:
                busy.append(i)
            elif paths[i].exists() and valid(i):  # finished while we looked
                stored(i, "in the store")
            else:
                run_one(i)
    for i in busy:  # wait for the other process; run it if that one died
        with locked(paths[i]):
            if paths[i].exists() and valid(i):
                stored(i, "run by another process on this store")
            else:
                run_one(i)
    return [statuses[i] for i in range(len(configs))]


# ------------------------------------------------------------------- summary
def load_store(
    out: str | os.PathLike, *, warn: Callable[[str], Any] | None = None
) -> list[dict]:
    """Every valid record of ``out/configs/``, sorted by dataset, device, limit,
    strategy. Other files there are skipped, each named by ``warn`` with the reason
    (a rerun of the sweep redoes a broken record of its own)."""
    folder = pathlib.Path(out) / CONFIGS_DIR
    records = []
    for path in sorted(folder.glob("*.json")):
        record, problem = read_record(path)
        if record is None:
            if warn is not None:
                warn(f"{path} is ignored: {problem}")
            continue
        if record["id"] != path.stem:
            if warn is not None:
                warn(f"{path} is ignored: it holds the record of {record['id']}")
            continue
        records.append(record)
    return sorted(records, key=_sort_key)


def _sort_key(record: dict):
    config = record["config"]
    return (
        config["dataset"],
        config["device"] or "",
        -1.0 if config["limit"] is None else config["limit"],
        config["strategy"],
        json.dumps(config, sort_keys=True),
    )


def _mean_std(values, digits: int = 2) -> str:
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if array.size == 0 or np.all(np.isnan(array)):
        return "–"
    return f"{np.nanmean(array):.{digits}f} ± {np.nanstd(array):.{digits}f}"


def summary_table(records: Sequence[dict]) -> str:
    """A markdown table: per configuration, mean ± std over seeds of the finals."""
    header = (
        "| strategy | dataset | device | limit | seeds | queries | best valid | "
        "test of best valid | best test | HV | table HV |"
    )
    lines = [header, "|" + " --- |" * 11]
    for record in records:
        config, final = record["config"], record["final"]
        hv = record["hypervolume"]
        limit = "–" if config["limit"] is None else f"{config['limit']:g}"
        cells = [
            config["strategy"],
            config["dataset"],
            config["device"] or "–",
            limit,
            str(config["seeds"]),
            str(config["queries"]),
            *(_mean_std(final[n]) for n in FINAL_NAMES),
            _mean_std(hv["final"], 4) if hv else "–",
            f"{hv['table_hv']:.4f}" if hv else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summarise(
    out: str | os.PathLike, *, warn: Callable[[str], Any] | None = None
) -> str:
    """Writes ``summary.md``, ``hypervolume.png``, ``fronts.png``; returns the table.

    Files of the store that are not valid records are skipped (:func:`load_store`).

    Raises:
        ValueError: the store holds no valid record.
    """

    out = pathlib.Path(out)
    records = load_store(out, warn=warn)
    if not records:
        raise ValueError(
            f"no configurations in {str(out / CONFIGS_DIR)!r}; run a sweep first"
        )
    table = summary_table(records)
    normalisation = (
        "HV: hypervolume of the recorded points with each front column mapped to "
        "(v - best) / (worst - best) over the table's rows (0 = best, 1 = worst), "
        "reference (1, ..., 1); table HV: that of the table's exact feasible front.\n"
    )
    write_atomic(out / "summary.md", (table + "\n" + normalisation).encode())
    _plot_store(records, out)
    return table


def _groups(records: Sequence[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        if record["hypervolume"] is None:
            continue
        config = record["config"]
        key = (
            config["dataset"],
            config["device"],
            config["limit"],
            tuple(record["hypervolume"]["columns"]),
        )
        groups.setdefault(key, []).append(record)
    return groups


def _title(key: tuple) -> str:
    dataset, device, limit, _ = key
    text = f"{dataset}" + (f" {device}" if device else "")
    return text + (f" <= {limit:g}" if limit is not None else "")


def _plot_store(records: Sequence[dict], out: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _groups(records) or {("no hypervolume", None, None, ()): []}
    num = len(groups)
    cols = min(num, 3)
    rows = -(-num // cols)
    for name in ("hypervolume", "fronts"):
        figure, axes = plt.subplots(
            rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False
        )
        for axis in axes.flat[num:]:
            axis.set_visible(False)
        for axis, (key, group) in zip(axes.flat, groups.items()):
            (_plot_hv if name == "hypervolume" else _plot_fronts)(axis, group)
            axis.set_title(_title(key), fontsize=9)
            axis.grid(alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110)
        plt.close(figure)
        write_atomic(out / f"{name}.png", buffer.getvalue())


def _plot_hv(axis, group: list[dict]) -> None:
    for record in group:
        hv = record["hypervolume"]
        curves = np.array(hv["curves"], dtype=np.float64)
        mean, std = np.nanmean(curves, 0), np.nanstd(curves, 0)
        axis.plot(hv["queries"], mean, label=record["config"]["strategy"])
        axis.fill_between(hv["queries"], mean - std, mean + std, alpha=0.2)
    if group:
        axis.axhline(
            group[0]["hypervolume"]["table_hv"], color="k", ls="--", label="table front"
        )
        axis.legend(fontsize=7)
    axis.set_xlabel("queries")
    axis.set_ylabel("hypervolume (normalised)")


def _plot_fronts(axis, group: list[dict]) -> None:
    if not group:
        return
    hv = group[0]["hypervolume"]
    exact = np.array(hv["table_front"], dtype=np.float64)
    axis.plot(exact[:, 0], exact[:, 1], "k.-", lw=1, label="table front", zorder=3)
    for record in group:
        points = [p for front in record["hypervolume"]["fronts"] for p in front]
        if points:
            points = np.array(points, dtype=np.float64)
            axis.scatter(
                points[:, 0],
                points[:, 1],
                s=8,
                alpha=0.4,
                label=f"{record['config']['strategy']} (all seeds)",
            )
    axis.set_xlabel(hv["columns"][0])
    axis.set_ylabel(hv["columns"][1])
    axis.legend(fontsize=7)
