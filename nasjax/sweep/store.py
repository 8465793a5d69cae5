"""Running a sweep: each configuration's record (:func:`run_config`), its checks
(:func:`record_problem`), and the resumable store ``DIR/configs/<id>.json``
(:func:`run_sweep`, :func:`load_store`)."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from nasjax import data, pareto, search
from nasjax.data.table import Table
from nasjax.io import Store, read_json
from nasjax.search.strategy import SearchResult
from nasjax.sweep.record import (
    FINAL_NAMES,
    hypervolume_record,
    nan_to_none,
    search_record,
)
from nasjax.sweep.spec import Config, SweepSpec, _is_number, _strategy, plan

CONFIGS_DIR = "configs"  # DIR/configs/<id>.json, one per finished configuration
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
    result = search.run_sharded(
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
    record = {
        "id": config.id,
        "config": config.to_dict(),
        "columns": {
            "objectives": list(plan_.objectives),
            "report": plan_.report,
            "constraint": plan_.constraint,
            "front": None if plan_.front is None else list(plan_.front),
        },
        **search_record(result, plan_.objectives[0], plan_.report),
        "constraint_max": None,
        "hypervolume": None,
    }
    if plan_.constraint is not None:
        bound = pareto.lookup_values(table, result.archs, (plan_.constraint,))
        record["constraint_max"] = nan_to_none(np.nanmax(bound[..., 0], axis=1))
    if plan_.front is not None:
        record["hypervolume"] = hypervolume_record(
            table,
            result.archs,
            plan_.front,
            hv_every=config.hv_every,
            constraint=plan_.constraint,
            limit=plan_.limit,
        )
    return record, result


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
    return read_json(path, lambda record: record_problem(record, config))


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
    store share the work (:meth:`nasjax.io.Store.fill`); several hosts run every
    configuration together instead, as process 0's store listing says.

    Args:
        spec: the grid.
        out: the sweep folder.
        table: the benchmark table; default loaded from ``data_dir``.
        data_dir: the data folder (default ``$NASJAX_DATA``).
        mesh: the device mesh (default :func:`nasjax.search.seed_mesh`).
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
    by_id = {c.id: c for c in configs}
    store = Store(
        pathlib.Path(out) / CONFIGS_DIR,
        problem=lambda record, name: record_problem(record, by_id[name]),
        warn=warn,
        allow_nan=False,
    )
    labels = {}
    for i, config in reversed(list(enumerate(configs))):  # the first one's number
        labels[config.id] = f"[{i + 1}/{len(configs)}] {config.label}"
    events: dict[str, list[str]] = {c.id: [] for c in configs}

    def run_one(name: str) -> dict:
        context = progress(labels[name]) if progress is not None else nullcontext()
        with context:
            record, _ = run_config(
                by_id[name], table, mesh=mesh, progress=progress is not None
            )
        events[name].append("ran")
        return record

    def stored(name: str, how: str) -> None:
        if skipped is not None:
            skipped(f"{labels[name]}: {how}, skipped")
        events[name].append("stored")

    if jax.process_count() > 1:  # every host runs the same configurations
        names = [c.id for c in configs]
        for name, done in zip(names, _store_listing([store.path(n) for n in names])):
            if done and store.read(name) is not None:
                stored(name, "in the store")
            else:
                record = run_one(name)
                if jax.process_index() == 0:
                    store.write(name, record)
    else:
        store.fill([c.id for c in configs], run_one, stored)
    return [
        {"id": c.id, "path": str(store.path(c.id)), "status": events[c.id].pop(0)}
        for c in configs
    ]


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
