"""Fixed-shape, masked ``jraph.GraphsTuple`` for DAGs, and batching inside ``jit``.

Every graph of a given encoding has the same ``N`` node slots and ``E`` edge slots;
absent nodes and edges are switched off by masks, never removed. Layout of one graph:

* ``nodes = {"features": Float[N, F], "mask": Bool[N]}``; masked rows are all zero.
* ``edges = {"mask": Bool[E], "kind": Int[E]}`` where ``kind`` is :data:`CELL` for an
  edge of the DAG, :data:`TO_GLOBAL` / :data:`FROM_GLOBAL` for the optional global node.
* ``senders``/``receivers``: static, every ordered pair ``i < j`` of the ``N_dag`` DAG
  nodes (``E_dag = N_dag (N_dag - 1) / 2``), then ``node -> global`` and
  ``global -> node`` for each DAG node when the global node is on (index ``N_dag``).
* ``n_node = [N]``, ``n_edge = [E]``, ``globals = None``.

jraph's own padding helpers are host-side (data-dependent shapes) and partly broken on
current JAX; these functions replace them with static shapes and masks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from jaxtyping import Array, Bool, Float

CELL, TO_GLOBAL, FROM_GLOBAL = 0, 1, 2


def dag_graph(
    adjacency: Bool[Array, "N N"],
    features: Float[Array, "N F"],
    node_mask: Bool[Array, "N"],
    *,
    global_node: bool = False,
) -> jraph.GraphsTuple:
    """One DAG as a fixed-shape masked ``GraphsTuple``. Jittable; vmap for batches.

    Args:
        adjacency: ``adjacency[i, j]`` is an edge ``i -> j``; only ``i < j`` is read.
        features: node features (one-hot op), ``F`` columns.
        node_mask: which node slots exist.
        global_node: append a node joined to every live node in both directions; it
            gets one extra feature column (set only on itself), so ``F' = F + 1``.

    Returns:
        A ``GraphsTuple`` with ``N' = N (+1)`` nodes and ``E = N(N-1)/2 (+2N)`` edges.
    """
    num_nodes = adjacency.shape[0]
    senders, receivers = np.triu_indices(num_nodes, k=1)
    edge_mask = (
        adjacency[senders, receivers] & node_mask[senders] & node_mask[receivers]
    )
    kind = np.full(senders.size, CELL, dtype=np.int32)
    features = jnp.where(node_mask[:, None], features, 0.0)
    if global_node:
        nodes = np.arange(num_nodes)
        hub = np.full(num_nodes, num_nodes)
        senders = np.concatenate([senders, nodes, hub])
        receivers = np.concatenate([receivers, hub, nodes])
        kind = np.concatenate(
            [kind, np.full(num_nodes, TO_GLOBAL), np.full(num_nodes, FROM_GLOBAL)]
        ).astype(np.int32)
        edge_mask = jnp.concatenate([edge_mask, node_mask, node_mask])
        features = jnp.pad(features, ((0, 1), (0, 1))).at[num_nodes, -1].set(1.0)
        node_mask = jnp.append(node_mask, True)
    return jraph.GraphsTuple(
        nodes={"features": features, "mask": node_mask},
        edges={"mask": edge_mask, "kind": jnp.asarray(kind)},
        senders=jnp.asarray(senders, dtype=jnp.int32),
        receivers=jnp.asarray(receivers, dtype=jnp.int32),
        n_node=jnp.array([node_mask.shape[0]], dtype=jnp.int32),
        n_edge=jnp.array([senders.size], dtype=jnp.int32),
        globals=None,
    )


def merge_batch(graphs: jraph.GraphsTuple) -> jraph.GraphsTuple:
    """``[B, ...]``-stacked graphs (from ``vmap``) -> one jraph batch of ``B`` graphs.

    Jittable: node indices are offset by ``b * N``; no host-side padding.
    """
    num_graphs, num_nodes = graphs.nodes["mask"].shape
    offsets = (jnp.arange(num_graphs, dtype=jnp.int32) * num_nodes)[:, None]

    def flat(x):
        return x.reshape((-1, *x.shape[2:]))

    return graphs._replace(
        nodes=jax.tree.map(flat, graphs.nodes),
        edges=jax.tree.map(flat, graphs.edges),
        senders=flat(graphs.senders + offsets),
        receivers=flat(graphs.receivers + offsets),
        n_node=flat(graphs.n_node),
        n_edge=flat(graphs.n_edge),
    )


def aggregate(
    graph: jraph.GraphsTuple, values: Float[Array, "N D"], *, reverse: bool = False
) -> Float[Array, "N D"]:
    """Masked sum over each node's predecessors (``reverse``: successors). Jittable.

    Masked edges carry nothing and masked nodes receive zero, so the result never
    depends on padded entries.
    """
    source, target = graph.senders, graph.receivers
    if reverse:
        source, target = target, source
    messages = values[source] * graph.edges["mask"][:, None]
    summed = jax.ops.segment_sum(messages, target, num_segments=values.shape[0])
    return summed * graph.nodes["mask"][:, None]


def graph_ids(graph: jraph.GraphsTuple) -> Array:
    """``[N_total]`` index of the graph each node belongs to. Jittable."""
    num_graphs = graph.n_node.shape[0]
    return jnp.repeat(
        jnp.arange(num_graphs),
        graph.n_node,
        total_repeat_length=graph.nodes["mask"].shape[0],
    )


def masked_mean_pool(
    graph: jraph.GraphsTuple, values: Float[Array, "N D"]
) -> Float[Array, "G D"]:
    """Mean of ``values`` over each graph's live nodes. Jittable."""
    ids = graph_ids(graph)
    mask = graph.nodes["mask"].astype(values.dtype)
    num_graphs = graph.n_node.shape[0]
    total = jax.ops.segment_sum(values * mask[:, None], ids, num_segments=num_graphs)
    count = jax.ops.segment_sum(mask, ids, num_segments=num_graphs)
    return total / jnp.maximum(count, 1.0)[:, None]


def dense_inputs(graphs) -> tuple[Float[Array, "B N N"], Float[Array, "B N F"]]:
    """A batch of fixed-size masked graphs -> eagle's dense GCN inputs. Jittable.

    ``graphs`` is a jraph batch of ``B`` graphs of ``N`` nodes each with the global
    node last (``merge_batch`` of an encoding with ``global_node=True``). The
    adjacency is the identity, the live cell edges, and ``global -> every node slot``
    (as eagle, whose global row is all ones even over pruned nodes); features of
    masked nodes are zero.
    """
    num_graphs = graphs.n_node.shape[0]
    num_nodes = graphs.nodes["mask"].shape[0] // num_graphs
    kind = graphs.edges["kind"]
    use = ((kind == CELL) & graphs.edges["mask"]) | (kind == FROM_GLOBAL)
    graph = graphs.senders // num_nodes
    adjacency = jnp.zeros((num_graphs, num_nodes, num_nodes), jnp.float32)
    adjacency = adjacency.at[
        graph, graphs.senders % num_nodes, graphs.receivers % num_nodes
    ].max(use.astype(jnp.float32))
    adjacency = jnp.maximum(adjacency, jnp.eye(num_nodes, dtype=jnp.float32))
    features = graphs.nodes["features"].reshape(num_graphs, num_nodes, -1)
    return adjacency, features
