"""FBNet architectures as op-on-node chain graphs.

Node 0 is the network input (the stem's output), nodes ``1..22`` carry the blocks of
``arch[0..21]`` and node 23 is the output (the head); the wiring is the chain
``0 -> 1 -> ... -> 23``.

Choice for ``skip`` blocks: by default (``prune=False``) they stay as nodes with the
``skip`` feature, because in HW-NAS-Bench's FBNet a ``skip`` at a layer that changes
channels or resolution (layers 1, 5, 9, 13, 17, 21 on CIFAR-100) is a 1x1 conv, not an
identity, and the layer position is kept. With ``prune=True`` every ``skip`` node is
masked and its neighbours are wired to each other (BRP-NAS style); the features then
drop the ``skip`` column. Features are one-hot over ``[*OPS, input, output]``
(+ ``global``).

The space's adapter (:data:`ADAPTER`): the GCN takes the chain with every layer kept
and the global node (25 nodes); FBNet has no generator form and no path encoding.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from jaxtyping import Array, Int

from nasjax.encodings._adapter import Adapter, register
from nasjax.encodings._graph import dag_graph, merge_batch
from nasjax.spaces.fbnet import NUM_LAYERS, OPS, SKIP, FBNetSpace

NUM_NODES = NUM_LAYERS + 2
INPUT, OUTPUT = 0, NUM_NODES - 1
FEATURES = (*OPS, "input", "output")
PRUNED_FEATURES = tuple(f for f in FEATURES if f != "skip")


def chain(
    arch: Int[Array, "22"], *, prune: bool = False, global_node: bool = True
) -> jraph.GraphsTuple:
    """One FBNet architecture as a masked chain ``GraphsTuple``. Jittable.

    Returns 24 nodes (25 with the global node) and the edge slots of
    :func:`~nasjax.encodings.dag_graph`; ``node_feature_names`` names the columns.
    """
    arch = jnp.asarray(arch, dtype=jnp.int32)
    op_of_node = jnp.concatenate([jnp.array([-1]), arch, jnp.array([-2])])
    is_block = (np.arange(NUM_NODES) != INPUT) & (np.arange(NUM_NODES) != OUTPUT)
    features = jnp.concatenate(
        [
            jax.nn.one_hot(jnp.where(is_block, op_of_node, -1), len(OPS)),
            jnp.stack([op_of_node == -1, op_of_node == -2], axis=-1).astype(
                jnp.float32
            ),
        ],
        axis=-1,
    )
    if prune:
        node_mask = ~(is_block & (op_of_node == SKIP))
        # i -> j (i < j) iff both live and no live node lies strictly between them.
        live_before = jnp.cumsum(node_mask) - node_mask  # live nodes in [0, i)
        between = live_before[None, :] - live_before[:, None] - node_mask[:, None]
        adjacency = node_mask[:, None] & node_mask[None, :] & (between == 0)
        adjacency = adjacency & jnp.asarray(np.triu(np.ones((NUM_NODES,) * 2, bool), 1))
        features = features[:, np.arange(len(FEATURES)) != SKIP]
    else:
        node_mask = jnp.ones(NUM_NODES, dtype=bool)
        adjacency = jnp.asarray(np.eye(NUM_NODES, k=1, dtype=bool))
    return dag_graph(adjacency, features, node_mask, global_node=global_node)


def node_feature_names(
    *, prune: bool = False, global_node: bool = True
) -> tuple[str, ...]:
    """Names of the feature columns :func:`chain` produces."""
    names = PRUNED_FEATURES if prune else FEATURES
    return (*names, "global") if global_node else names


def batch(
    archs: Int[Array, "B 22"], *, prune: bool = False, global_node: bool = True
) -> jraph.GraphsTuple:
    """A jraph batch of ``B`` FBNet chains, built inside ``jit``, no host padding."""
    graphs = jax.vmap(lambda a: chain(a, prune=prune, global_node=global_node))(archs)
    return merge_batch(graphs)


ADAPTER = register(
    Adapter(
        FBNetSpace(), graphs=functools.partial(batch, prune=False, global_node=True)
    )
)
