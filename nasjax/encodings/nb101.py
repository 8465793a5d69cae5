"""NAS-Bench-101 cells as op-on-node DAGs.

Seven node slots in the space's order (0 input, 1..5 the inner ops of ``arch[0:5]``,
6 output) and the cell's edges; nodes off every input-to-output path are masked, as
the benchmark prunes them (the input and output stay live even in an invalid cell).
Features are one-hot over :data:`FEATURES` (+ ``global`` when the global node is on).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from jaxtyping import Array, Int

from nasjax.encodings._graph import dag_graph, merge_batch
from nasjax.spaces.nb101 import NUM_NODES, OPS, NB101Space

FEATURES = (*OPS, "input", "output")
_SPACE = NB101Space()


def dag(arch: Int[Array, "26"], *, global_node: bool = True) -> jraph.GraphsTuple:
    """One NAS-Bench-101 cell as a masked ``GraphsTuple``. Jittable.

    Returns 7 nodes (8 with the global node) and ``21`` (+14) edge slots; see
    :func:`node_feature_names` for the feature columns.
    """
    arch = jnp.asarray(arch, dtype=jnp.int32)
    adjacency, node_mask = _SPACE.prune(arch)
    is_io = np.arange(NUM_NODES) % (NUM_NODES - 1) == 0
    node_mask = node_mask | is_io
    op_of_node = jnp.concatenate(
        [jnp.array([len(OPS)]), arch[: NUM_NODES - 2], jnp.array([len(OPS) + 1])]
    )
    features = jax.nn.one_hot(op_of_node, len(FEATURES), dtype=jnp.float32)
    return dag_graph(adjacency, features, node_mask, global_node=global_node)


def node_feature_names(*, global_node: bool = True) -> tuple[str, ...]:
    """Names of the feature columns :func:`dag` produces."""
    return (*FEATURES, "global") if global_node else FEATURES


def batch(archs: Int[Array, "B 26"], *, global_node: bool = True) -> jraph.GraphsTuple:
    """A jraph batch of ``B`` cells, built inside ``jit`` with no host padding."""
    graphs = jax.vmap(lambda a: dag(a, global_node=global_node))(archs)
    return merge_batch(graphs)
