"""Seeds sharded over devices: :func:`run_seeds` on a 1-D mesh.

The ``[R]`` keys of a run are padded to a multiple of the device count, placed with
``NamedSharding(mesh, P("seeds"))`` on a mesh of ``jax.devices()`` with axis
``"seeds"`` (:func:`seed_mesh`), the table is replicated, and the padding is dropped
from the results. The same code runs on one CPU, several GPUs/TPUs, or many hosts (after
``jax.distributed.initialize()`` on each, ``jax.devices()`` is global and the results
are all-gathered to every host).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jaxtyping import PRNGKeyArray

from nasjax import _progress
from nasjax.data.table import Table
from nasjax.search.strategy import SearchResult, Strategy, run_seeds


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
    # Each process gives its own copy: device_put would check they are equal across
    # processes, and the table's NaN entries never compare equal.
    replicated = NamedSharding(mesh, P())
    table = jax.tree.map(
        lambda x: jax.make_array_from_callback(
            np.shape(x), replicated, lambda index: np.asarray(x)[index]
        ),
        table,
    )
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
