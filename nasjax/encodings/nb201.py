"""NAS-Bench-201 cells as op-on-node DAGs (the BRP-NAS form).

Node 0 is the cell input, nodes 1..6 carry the ops of ``arch[0..5]``, node 7 is the
output; the fixed wiring is 0->1, 0->2, 0->4, 1->3, 1->5, 2->6, 3->6, 4->7, 5->7, 6->7
(node ``k`` is edge slot ``k - 1`` of :data:`nasjax.spaces.nb201.EDGES`).

With ``prune=True`` (BRP-NAS): a ``none`` node loses its edges, a ``skip_connect``
node is bypassed (its predecessors wired to its successors) and dropped, and op nodes
off every input-to-output path are masked. Features are one-hot over
``[nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, input, output]`` (+ ``global``).
With ``prune=False`` all 8 nodes stay, features over all 5 ops + input + output.

The space's adapter (:data:`ADAPTER`): the GCN takes the pruned graph with the global
node (BRP-NAS's 9 nodes, 6 features); the AG-Net generator's form (:func:`to_typed`) is
``N = 8`` nodes of :data:`TYPES` with edges always the fixed wiring; the path encoding
is :func:`nasjax.encodings.path.nb201`; ``arch_idx`` is NAS-Bench-201's own index.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from jaxtyping import Array, Int

from nasjax.encodings import _typed, path
from nasjax.encodings._adapter import Adapter, register
from nasjax.encodings._graph import dag_graph, merge_batch
from nasjax.spaces.nb201 import NONE, NUM_ARCHS, OPS, SKIP, NB201Space

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


# ----------------------------------------------------- the generator's form
TYPES = (
    "output",
    "input",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "none",
)
# Op index of the space -> node type, and back (-1: not an op type).
_OP_TYPE = np.array([6, 5, 2, 3, 4], np.int32)  # none, skip, 1x1, 3x3, pool
_TYPE_OP = np.array([-1, -1, 2, 3, 4, 1, 0], np.int32)


def _typed_edges() -> np.ndarray:
    src, dst = _typed.edge_pairs(NUM_NODES)
    wiring = set(WIRING)
    return np.array([(s, d) in wiring for s, d in zip(src, dst)])


def to_typed(archs: Int[Array, "... 6"]) -> tuple[Int[Array, "... 8"], Array]:
    """``(types [..., 8], edges [..., 28])``: node 0 the input, nodes 1..6 the ops of
    ``arch[0..5]``, node 7 the output; edges the fixed wiring. Jittable."""
    archs = jnp.asarray(archs, jnp.int32)
    batch = archs.shape[:-1]
    types = jnp.concatenate(
        [
            jnp.full((*batch, 1), _typed.INPUT, jnp.int32),
            jnp.asarray(_OP_TYPE)[archs],
            jnp.full((*batch, 1), _typed.OUTPUT, jnp.int32),
        ],
        axis=-1,
    )
    edges = jnp.broadcast_to(jnp.asarray(_typed_edges()), (*batch, 28))
    return types, edges


def from_typed(types: Int[Array, "... 8"], edges: Array) -> tuple[Array, Array]:
    """``(archs [..., 6], valid [...])``: valid iff node 0 is the input, node 7 the
    output, nodes 1..6 op types and the edges exactly the fixed wiring. Jittable."""
    types = jnp.asarray(types, jnp.int32)
    edges = jnp.asarray(edges, bool)
    inner = types[..., 1:-1]
    ops = jnp.asarray(_TYPE_OP)[inner]
    valid = (
        (types[..., 0] == _typed.INPUT)
        & (types[..., -1] == _typed.OUTPUT)
        & jnp.all(ops >= 0, axis=-1)
        & jnp.all(edges == jnp.asarray(_typed_edges()), axis=-1)
    )
    return jnp.maximum(ops, 0), valid


def benchmark_archs() -> np.ndarray:
    """``[15625, 6]`` int32: the architecture of each benchmark ``arch_idx``."""
    space = NB201Space()
    return np.asarray(space.from_benchmark_index(np.arange(NUM_ARCHS)), np.int32)


_SPACE = NB201Space()
ADAPTER = register(
    Adapter(
        _SPACE,
        graphs=functools.partial(batch, prune=True, global_node=True),
        generator=_typed.GraphFormat(_SPACE, NUM_NODES, TYPES, to_typed, from_typed),
        path=path.nb201,
        path_features=path.NB201_FEATURES,
        benchmark_index=_SPACE.to_benchmark_index,
        benchmark_archs=benchmark_archs,
    )
)
