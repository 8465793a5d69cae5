"""Masked GraphsTuple encodings: structure, batching, padding invariance."""

import chex
import jax
import jax.numpy as jnp
import numpy as np

from nasjax import encodings
from nasjax.encodings import nb201 as nb201_encoding


def live_cell_edges(graph):
    mask = np.asarray(graph.edges["mask"]) & (
        np.asarray(graph.edges["kind"]) == encodings.CELL
    )
    return sorted(
        zip(
            np.asarray(graph.senders)[mask].tolist(),
            np.asarray(graph.receivers)[mask].tolist(),
        )
    )


def test_brp_pruning_rewires_skips_and_drops_none(nb201_space):
    arch = nb201_space.from_string(
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
    )
    graph = nb201_encoding.op_on_node(jnp.asarray(arch))
    # node 2 (skip 0->2) and node 6 (skip 2->3) chain into a direct input->output edge.
    assert live_cell_edges(graph) == [(0, 1), (0, 4), (0, 7), (1, 5), (4, 7), (5, 7)]
    np.testing.assert_array_equal(graph.nodes["mask"], [1, 1, 0, 0, 1, 1, 0, 1, 1])
    names = nb201_encoding.node_feature_names()
    assert names == (
        "nor_conv_1x1",
        "nor_conv_3x3",
        "avg_pool_3x3",
        "input",
        "output",
        "global",
    )
    features = np.asarray(graph.nodes["features"])
    assert features[1, names.index("nor_conv_3x3")] == 1
    assert features[5, names.index("nor_conv_1x1")] == 1
    assert features[8, names.index("global")] == 1
    assert not features[[2, 3, 6]].any()


def test_dead_end_op_is_pruned(nb201_space):
    # conv on 0->1, but node 1 feeds only 'none' edges: it is off every path.
    arch = nb201_space.from_string(
        "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    )
    graph = nb201_encoding.op_on_node(jnp.asarray(arch), global_node=False)
    assert live_cell_edges(graph) == [(0, 7)]
    np.testing.assert_array_equal(graph.nodes["mask"], [1, 0, 0, 0, 0, 0, 0, 1])


def test_unpruned_form_keeps_all_nodes(nb201_space):
    arch = jnp.array([0, 1, 2, 3, 4, 0])
    graph = nb201_encoding.op_on_node(arch, prune=False, global_node=False)
    assert bool(jnp.all(graph.nodes["mask"]))
    assert live_cell_edges(graph) == sorted(nb201_encoding.WIRING)
    ops = np.argmax(np.asarray(graph.nodes["features"]), axis=1)
    np.testing.assert_array_equal(ops, [5, 0, 1, 2, 3, 4, 0, 6])


def test_global_node_joins_every_live_node(nb201_space, key):
    graph = nb201_encoding.op_on_node(nb201_space.sample(key, 1)[0])
    kind, mask = np.asarray(graph.edges["kind"]), np.asarray(graph.edges["mask"])
    live = np.flatnonzero(np.asarray(graph.nodes["mask"])[:8])
    to_hub = np.asarray(graph.senders)[(kind == encodings.TO_GLOBAL) & mask]
    from_hub = np.asarray(graph.receivers)[(kind == encodings.FROM_GLOBAL) & mask]
    np.testing.assert_array_equal(sorted(to_hub), live)
    np.testing.assert_array_equal(sorted(from_hub), live)


def test_batch_in_jit_equals_single_graphs(nb201_space, key):
    archs = nb201_space.sample(key, 5)
    batched = jax.jit(nb201_encoding.batch)(archs)
    chex.assert_shape(batched.nodes["features"], (5 * 9, 6))
    chex.assert_shape(batched.n_node, (5,))
    for i in range(5):
        single = nb201_encoding.op_on_node(archs[i])
        np.testing.assert_array_equal(
            batched.nodes["features"][i * 9 : (i + 1) * 9], single.nodes["features"]
        )
        edges = slice(i * single.senders.size, (i + 1) * single.senders.size)
        np.testing.assert_array_equal(batched.senders[edges], single.senders + i * 9)


def tiny_gcn(params, graph):
    """Two masked message-passing layers, then a masked mean pool per graph."""
    h = graph.nodes["features"]
    for w_self, w_neigh in params:
        h = jax.nn.relu(h @ w_self + encodings.aggregate(graph, h @ w_neigh))
        h = h * graph.nodes["mask"][:, None]
    return h, encodings.masked_mean_pool(graph, h)


def test_editing_padded_entries_never_changes_outputs(nb201_space, key):
    keys = jax.random.split(key, 6)
    graph = nb201_encoding.batch(nb201_space.sample(keys[0], 8))
    dims = [(6, 16), (16, 16)]
    params = [
        (jax.random.normal(k1, d), jax.random.normal(k2, d))
        for (k1, k2), d in zip(jax.random.split(keys[1], (2, 2)), dims)
    ]
    node_mask, edge_mask = graph.nodes["mask"], graph.edges["mask"]
    assert not bool(jnp.all(node_mask)) and not bool(
        jnp.all(edge_mask)
    )  # padding exists
    num_nodes = node_mask.size
    garbage = graph._replace(
        nodes={
            **graph.nodes,
            "features": jnp.where(
                node_mask[:, None],
                graph.nodes["features"],
                jax.random.normal(keys[2], graph.nodes["features"].shape) * 100,
            ),
        },
        senders=jnp.where(
            edge_mask,
            graph.senders,
            jax.random.randint(keys[3], edge_mask.shape, 0, num_nodes),
        ),
        receivers=jnp.where(
            edge_mask,
            graph.receivers,
            jax.random.randint(keys[4], edge_mask.shape, 0, num_nodes),
        ),
    )
    nodes, pooled = jax.jit(tiny_gcn)(params, graph)
    nodes_edited, pooled_edited = jax.jit(tiny_gcn)(params, garbage)
    chex.assert_trees_all_close(nodes, nodes_edited, rtol=1e-6)
    chex.assert_trees_all_close(pooled, pooled_edited, rtol=1e-6)
    assert float(jnp.abs(pooled).sum()) > 0  # the check compares something
