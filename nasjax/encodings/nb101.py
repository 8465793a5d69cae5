"""NAS-Bench-101 cells as op-on-node DAGs.

Seven node slots in the space's order (0 input, 1..5 the inner ops of ``arch[0:5]``,
6 output) and the cell's edges; nodes off every input-to-output path are masked, as
the benchmark prunes them (the input and output stay live even in an invalid cell).
Features are one-hot over :data:`FEATURES` (+ ``global`` when the global node is on).

The space's adapter (:data:`ADAPTER`): the GCN takes this DAG with the global node (8
nodes); tables key a cell by its canonical form; the AG-Net generator's form
(:func:`to_typed`) is the pruned cell with its live nodes packed to the front (output
last) and the rest padded with the ``output`` type and no edges, as AG-Net pads its
NAS-Bench-101 graphs (``N = 7`` nodes of :data:`TYPES`); the path encoding is
:func:`nasjax.encodings.path.nb101`; BANANAS mutates an op with probability 1/5 and an
edge with 1/7 (naszilla's rates).
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
from nasjax.spaces.nb101 import (
    EDGE_SOURCES,
    EDGE_TARGETS,
    NUM_EDGES,
    NUM_INNER,
    NUM_NODES,
    OPS,
    NB101Space,
)

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


# ----------------------------------------------------- the generator's form
TYPES = ("output", "input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3")
# Op index of the space -> node type, and back (-1: not an op type).
_OP_TYPE = np.array([3, 2, 4], np.int32)  # conv3x3, conv1x1, maxpool
_TYPE_OP = np.array([-1, -1, 1, 0, 2], np.int32)


def to_typed(archs: Int[Array, "... 26"]) -> tuple[Int[Array, "... 7"], Array]:
    """``(types [..., 7], edges [..., 21])`` of valid cells: the pruned cell, live
    nodes packed to the front (output last), padding nodes of the ``output`` type
    without edges. Jittable."""
    archs = jnp.asarray(archs, jnp.int32)
    adjacency, live = _SPACE.prune(archs)  # [..., 7, 7], [..., 7]
    position = jnp.cumsum(live, axis=-1) - 1  # new index of each live node
    move = live[..., :, None] & (position[..., :, None] == jnp.arange(NUM_NODES))
    move = move.astype(jnp.int32)  # [..., old, new]
    packed = jnp.einsum(
        "...ij,...ik,...jl->...kl", adjacency.astype(jnp.int32), move, move
    )
    src, dst = _typed.edge_pairs(NUM_NODES)
    edges = packed[..., src, dst] > 0
    inner_types = jnp.asarray(_OP_TYPE)[archs[..., : NUM_NODES - 2]]
    old_types = jnp.concatenate(
        [
            jnp.full((*archs.shape[:-1], 1), _typed.INPUT, jnp.int32),
            inner_types,
            jnp.full((*archs.shape[:-1], 1), _typed.OUTPUT, jnp.int32),
        ],
        axis=-1,
    )
    # Padding rows of ``move`` are all zero: they take type 0, the output type.
    types = jnp.einsum("...i,...ik->...k", old_types, move)
    return types, edges


def from_typed(types: Int[Array, "... 7"], edges: Array) -> tuple[Array, Array]:
    """``(archs [..., 26], valid [...])``: the graph is cut after its first ``output``
    node; valid iff the nodes between are op types and the cell passes
    :meth:`~nasjax.spaces.NB101Space.is_valid`. Jittable."""
    types = jnp.asarray(types, jnp.int32)
    edges = jnp.asarray(edges, bool)
    is_output = (types == _typed.OUTPUT) & (jnp.arange(NUM_NODES) > 0)
    cut = jnp.argmax(is_output, axis=-1)  # first output; 0 if none
    has_output = jnp.any(is_output, axis=-1)
    node = jnp.arange(NUM_NODES)
    inner = (node >= 1) & (node < cut[..., None])  # [..., N]
    op = jnp.asarray(_TYPE_OP)[types]
    ops_ok = jnp.all(~inner | (op >= 0), axis=-1)
    # Generated node q -> cell node: q itself before the cut, the output (6) at it.
    target = jnp.where(node == cut[..., None], NUM_NODES - 1, node)
    kept = node <= cut[..., None]
    move = (
        kept[..., :, None] & (target[..., :, None] == jnp.arange(NUM_NODES))
    ).astype(jnp.int32)
    adjacency = _typed.to_adjacency(edges, NUM_NODES).astype(jnp.int32)
    cell = jnp.einsum("...ij,...ik,...jl->...kl", adjacency, move, move) > 0
    cell_ops = jnp.where(inner, jnp.maximum(op, 0), 0)[..., 1 : NUM_NODES - 1]
    archs = jnp.concatenate(
        [cell_ops, cell[..., EDGE_SOURCES, EDGE_TARGETS].astype(jnp.int32)], axis=-1
    )
    valid = (
        (types[..., 0] == _typed.INPUT) & has_output & ops_ok & _SPACE.is_valid(archs)
    )
    return archs, valid


def _canonical_ids(archs: Int[Array, "... 26"]) -> Int[Array, "..."]:
    return _SPACE.index(_SPACE.canonical(archs))


ADAPTER = register(
    Adapter(
        _SPACE,
        graphs=functools.partial(batch, global_node=True),
        generator=_typed.GraphFormat(
            _SPACE, NUM_NODES, TYPES, to_typed, from_typed, ticks=15
        ),
        path=path.nb101,
        path_features=path.NB101_FEATURES,
        row_ids=_canonical_ids,
        mutation_rates=(1 / NUM_INNER,) * NUM_INNER + (1 / NUM_NODES,) * NUM_EDGES,
    )
)
