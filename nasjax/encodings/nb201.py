"""NAS-Bench-201 cells as op-on-node DAGs (the BRP-NAS form).

Node 0 is the cell input, nodes 1..6 carry the ops of ``arch[0..5]``, node 7 is the
output; the fixed wiring is 0->1, 0->2, 0->4, 1->3, 1->5, 2->6, 3->6, 4->7, 5->7, 6->7
(node ``k`` is edge slot ``k - 1`` of :data:`nasjax.spaces.nb201.EDGES`).

With ``prune=True`` (BRP-NAS): a ``none`` node loses its edges, a ``skip_connect``
node is bypassed (its predecessors wired to its successors) and dropped, and op nodes
off every input-to-output path are masked. Features are one-hot over
``[nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, input, output]`` (+ ``global``).
With ``prune=False`` all 8 nodes stay, features over all 5 ops + input + output.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from jaxtyping import Array, Int

from nasjax.encodings._graph import dag_graph, merge_batch
from nasjax.spaces.nb201 import NONE, OPS, SKIP

NUM_NODES = 8
INPUT, OUTPUT = 0, 7
WIRING = (
    (0, 1),
    (0, 2),
    (0, 4),
    (1, 3),
    (1, 5),
    (2, 6),
    (3, 6),
    (4, 7),
    (5, 7),
    (6, 7),
)
FEATURES = (*OPS, "input", "output")
PRUNED_FEATURES = FEATURES[2:]


def _fixed_adjacency() -> np.ndarray:
    adjacency = np.zeros((NUM_NODES, NUM_NODES), dtype=bool)
    for src, dst in WIRING:
        adjacency[src, dst] = True
    return adjacency


def _reach(adjacency, start, *, backward=False):
    """Nodes reachable from ``start`` (a ``[N]`` bool) along ``adjacency``."""
    step = adjacency.T if backward else adjacency
    reached = start
    for _ in range(NUM_NODES - 1):
        reached = reached | jnp.any(step & reached[:, None], axis=0)
    return reached


def op_on_node(
    arch: Int[Array, "6"], *, prune: bool = True, global_node: bool = True
) -> jraph.GraphsTuple:
    """One NAS-Bench-201 cell as a masked op-on-node ``GraphsTuple``. Jittable.

    Returns 8 nodes (9 with the global node); see the module docstring for the
    feature columns (``node_feature_names``).
    """
    op_of_node = jnp.concatenate([jnp.array([-1]), arch, jnp.array([-2])])
    is_op = np.arange(NUM_NODES) % 7 != 0
    adjacency = jnp.asarray(_fixed_adjacency())
    one_hot = jnp.concatenate(
        [
            jax.nn.one_hot(jnp.where(is_op, op_of_node, -1), len(OPS)),
            jnp.stack([op_of_node == -1, op_of_node == -2], axis=-1).astype(
                jnp.float32
            ),
        ],
        axis=-1,
    )
    node_mask = jnp.ones(NUM_NODES, dtype=bool)
    if prune:
        skip = is_op & (op_of_node == SKIP)
        dropped = is_op & ((op_of_node == SKIP) | (op_of_node == NONE))
        # Paths through chains of skip nodes become direct edges.
        for _ in range(3):
            through_skip = jnp.any(
                adjacency[:, :, None] & (skip[None, :, None] & adjacency[None, :, :]),
                axis=1,
            )
            adjacency = adjacency | through_skip
        adjacency = adjacency & ~dropped[:, None] & ~dropped[None, :]
        on_path = _reach(adjacency, jnp.arange(NUM_NODES) == INPUT) & _reach(
            adjacency, jnp.arange(NUM_NODES) == OUTPUT, backward=True
        )
        node_mask = ~is_op | (on_path & ~dropped)
        one_hot = one_hot[:, 2:]
    return dag_graph(adjacency, one_hot, node_mask, global_node=global_node)


def node_feature_names(
    *, prune: bool = True, global_node: bool = True
) -> tuple[str, ...]:
    """Names of the feature columns :func:`op_on_node` produces."""
    names = PRUNED_FEATURES if prune else FEATURES
    return (*names, "global") if global_node else names


def batch(
    archs: Int[Array, "B 6"], *, prune: bool = True, global_node: bool = True
) -> jraph.GraphsTuple:
    """A jraph batch of ``B`` cells, built inside ``jit`` with no host padding."""
    graphs = jax.vmap(lambda a: op_on_node(a, prune=prune, global_node=global_node))(
        archs
    )
    return merge_batch(graphs)
