"""The AG-Net graph generator: graph forms, decoders, losses, sampling."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nasjax import generators, spaces
from nasjax.encodings._typed import INPUT, OUTPUT, edge_pairs, to_adjacency
from nasjax.generators import GeneratorConfig

TINY = dict(latent_dim=4, node_dim=4, num_layers=1, hidden=8, surrogate_layers=1)


@pytest.fixture(scope="module")
def nb201_format():
    return generators.graph_format(spaces.nb201())


@pytest.fixture(scope="module")
def nb101_format():
    return generators.graph_format(spaces.nb101())


def test_edges_are_target_major():
    src, dst = edge_pairs(4)
    assert list(zip(src.tolist(), dst.tolist())) == [
        (0, 1),
        (0, 2),
        (1, 2),
        (0, 3),
        (1, 3),
        (2, 3),
    ]


def test_nb201_graph_round_trip_and_layout(nb201_format, nb201_space):
    archs = nb201_space.from_index(jnp.arange(15625))
    types, edges = jax.jit(nb201_format.to_graph)(archs)
    back, valid = jax.jit(nb201_format.from_graph)(types, edges)
    assert bool(jnp.all(valid)) and bool(jnp.all(back == archs))
    arch = nb201_space.from_string(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    )
    types, edges = nb201_format.to_graph(jnp.asarray(arch))
    names = [nb201_format.type_names[t] for t in types.tolist()]
    assert names == [
        "input",
        "nor_conv_3x3",
        "none",
        "skip_connect",
        "avg_pool_3x3",
        "nor_conv_1x1",
        "none",
        "output",
    ]
    adjacency = np.asarray(to_adjacency(edges, 8))
    assert sorted(zip(*np.nonzero(adjacency))) == [
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
    ]


def test_nb201_invalid_graphs_are_flagged(nb201_format, nb201_space):
    types, edges = nb201_format.to_graph(nb201_space.sample(jax.random.key(0), 3))
    types = types.at[0, 3].set(INPUT).at[1, 2].set(OUTPUT)
    edges = edges.at[2, 5].set(~edges[2, 5])
    _, valid = nb201_format.from_graph(types, edges)
    np.testing.assert_array_equal(valid, [False, False, False])


def test_nb101_graph_round_trip_keeps_the_cell(nb101_format):
    space = nb101_format.space
    archs = space.sample(jax.random.key(0), 100)
    types, edges = jax.jit(nb101_format.to_graph)(archs)
    back, valid = jax.jit(nb101_format.from_graph)(types, edges)
    assert bool(jnp.all(valid))
    np.testing.assert_array_equal(space.canonical(back), space.canonical(archs))
    # Live nodes are packed to the front; padding takes the output type, no edges.
    chain = np.zeros(26, np.int32)  # input -> node 3 -> output, nodes 1, 2, 4, 5 unused
    chain[5 + space.edges.index((0, 3))] = chain[5 + space.edges.index((3, 6))] = 1
    chain[2] = 2  # maxpool
    types, edges = nb101_format.to_graph(jnp.asarray(chain))
    assert [nb101_format.type_names[t] for t in types.tolist()] == [
        "input",
        "maxpool3x3",
        "output",
        "output",
        "output",
        "output",
        "output",
    ]
    assert np.flatnonzero(edges).tolist() == [0, 2]  # (0, 1) and (1, 2)


def test_nb101_decoding_cuts_at_the_first_output(nb101_format):
    types = jnp.array(
        [[INPUT, 3, OUTPUT, 2, 2, 2, OUTPUT], [INPUT, INPUT, 3, 3, 3, 3, 0]]
    )
    edges = jnp.zeros((2, 21), bool).at[:, 0].set(True).at[:, 2].set(True)
    archs, valid = nb101_format.from_graph(types, edges)
    np.testing.assert_array_equal(valid, [True, False])  # an inner input is invalid
    space = nb101_format.space
    assert space.to_spec(archs[0], prune=True)[1] == [
        "input",
        "conv3x3-bn-relu",
        "output",
    ]


def test_other_spaces_and_bad_configs_raise(nb201_format):
    with pytest.raises(ValueError, match="decodes nb101 and nb201 cells, not 'fbnet'"):
        generators.graph_format(spaces.fbnet())
    with pytest.raises(ValueError, match="mode"):
        GeneratorConfig(nb201_format, mode="gan")
    with pytest.raises(ValueError, match="decoder"):
        GeneratorConfig(nb201_format, decoder="rnn")
    with pytest.raises(ValueError, match="node_dim"):
        GeneratorConfig(nb201_format, node_dim=5)


@pytest.mark.parametrize("decoder", ["gnn", "oneshot"])
def test_decoders_give_fixed_shapes_and_an_input_node(decoder, nb201_format, key):
    config = GeneratorConfig(nb201_format, decoder=decoder, **TINY)
    params = generators.init_params(key, config)
    assert set(params) == {"decoder", "surrogate"}

    @jax.jit
    def decode_and_predict(z):
        node_logits, edge_logits = generators.decode(config, params, z)
        condition = jnp.zeros((z.shape[0], 0))
        predicted = generators.predict(
            config, params, node_logits, edge_logits, condition
        )
        return node_logits, edge_logits, predicted

    node_logits, edge_logits, predicted = decode_and_predict(
        generators.prior(key, config, 5)
    )
    chex.assert_shape(
        [node_logits, edge_logits, predicted], [(5, 8, 7), (5, 28), (5, 1)]
    )
    assert bool(jnp.all(jnp.argmax(node_logits[:, 0], -1) == INPUT))
    if decoder == "gnn":  # the reference fixes the edge into node 1
        np.testing.assert_allclose(edge_logits[:, 0], 20.0)


def test_sequential_decoder_is_causal_and_per_graph(key):
    """Node ``k``'s logits depend only on ``z`` and the nodes before it: a decoder of
    5 nodes with the same weights gives the first 5 nodes (and the 10 edges into
    them) of an 8-node one; and a graph's logits do not depend on its batch."""
    from nasjax.generators._decoders import SequentialDecoder

    z = jax.random.normal(key, (6, 8))
    long, short = (
        SequentialDecoder(8, 5, node_dim=8),
        SequentialDecoder(5, 5, node_dim=8),
    )
    params = long.init(jax.random.key(1), z)
    long_nodes, long_edges = long.apply(params, z)
    short_nodes, short_edges = short.apply(params, z)
    np.testing.assert_allclose(long_nodes[:, :5], short_nodes, atol=1e-5)
    np.testing.assert_allclose(long_edges[:, :10], short_edges, atol=1e-5)
    one_nodes, one_edges = long.apply(params, z[2:3])
    np.testing.assert_allclose(one_nodes[0], long_nodes[2], atol=1e-5)
    np.testing.assert_allclose(one_edges[0], long_edges[2], atol=1e-5)


def test_vae_encoder_ignores_padding(nb101_format, key):
    config = GeneratorConfig(nb101_format, decoder="oneshot", mode="vae", **TINY)
    params = generators.init_params(key, config)
    assert set(params) == {"decoder", "surrogate", "encoder"}
    # input -> conv -> output, then padding; and a full 7-node chain.
    types = jnp.array([[INPUT, 3, OUTPUT, 0, 0, 0, 0], [INPUT, 2, 3, 4, 2, 3, OUTPUT]])
    chain = jnp.isin(jnp.arange(21), jnp.array([0, 2, 5, 9, 14, 20]))
    edges = jnp.stack([jnp.arange(21) < 3, chain])
    encode = jax.jit(generators.encode, static_argnums=0)
    mean, log_variance = encode(config, params, types, edges)
    chex.assert_shape([mean, log_variance], [(2, 4), (2, 4)])
    # Edges into the padding nodes (after the first output) change nothing.
    noisy = edges.at[0].set(True)
    changed, _ = encode(config, params, types, noisy)
    np.testing.assert_allclose(changed[0], mean[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(mean[0], mean[1])


def test_generated_architectures_flagged_valid_are_valid(nb101_format, key):
    config = GeneratorConfig(nb101_format, decoder="oneshot", **TINY)
    params = generators.init_params(key, config)
    z = generators.prior(key, config, 500)
    archs, valid, _, _ = jax.jit(generators.generate, static_argnums=1)(
        key, config, params, z
    )
    chex.assert_shape(archs, (500, 26))
    assert bool(jnp.all(nb101_format.space.is_valid(archs[valid])))


def test_losses():
    types = jnp.array([[1, 2, 0]])
    edges = jnp.array([[True, False, True]])
    confident = 50.0 * jax.nn.one_hot(types, 3)
    edge_logits = jnp.where(edges, 50.0, -50.0)
    loss = generators.reconstruction_loss(confident, edge_logits, types, edges)
    np.testing.assert_allclose(loss, [0.0], atol=1e-6)
    uniform = generators.reconstruction_loss(
        jnp.zeros((1, 3, 3)), jnp.zeros((1, 3)), types, edges
    )
    np.testing.assert_allclose(uniform, [np.log(3) + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(
        generators.kl_divergence(jnp.zeros((2, 4)), jnp.zeros((2, 4))), [0.0, 0.0]
    )


@pytest.mark.parametrize("mode", ["agnet", "vae"])
def test_training_on_a_toy_set_concentrates_the_generator(mode, nb201_format, key):
    """Two cells, 300 Adam steps: the loss falls and the samples are those cells.

    The cells differ in one op, so the decoder-only mode, which learns the product
    of per-node marginals (its latent is independent of the cell), can fit them too.
    """
    config = GeneratorConfig(nb201_format, decoder="oneshot", mode=mode, **TINY)
    first = nb201_format.space.sample(jax.random.key(3), 1)[0]
    toy = jnp.stack([first, first.at[2].set((first[2] + 1) % 5)])
    types, edges = nb201_format.to_graph(jnp.tile(toy, (8, 1)))
    optimiser = generators.adam(1e-2)

    @jax.jit
    def train(params):
        def step(carry, key):
            params, state = carry
            loss, grads = jax.value_and_grad(
                lambda p: jnp.mean(
                    generators.generator_loss(key, config, p, types, edges)[0]
                )
            )(params)
            updates, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        keys = jax.random.split(key, 300)
        (params, _), losses = jax.lax.scan(step, (params, optimiser.init(params)), keys)
        return params, losses

    params, losses = train(generators.init_params(key, config))
    assert float(losses[-20:].mean()) < 0.3 * float(losses[:20].mean())
    z = jax.random.normal(key, (200, config.latent_dim))
    archs, valid, _, _ = generators.generate(key, config, params, z)
    index = nb201_format.space.index(archs)
    on_toy = jnp.isin(index, nb201_format.space.index(toy)) & valid
    assert float(on_toy.mean()) > 0.9


def test_pretraining_teaches_valid_cells(nb201_format):
    """The pretraining the strategies run (tests/test_agnet.py's size; jit-cached)."""
    config = GeneratorConfig(
        nb201_format, decoder="oneshot", latent_dim=4, node_dim=4, hidden=16
    )
    params, losses = generators.pretrain(jax.random.key(0), config, num_steps=2000)
    chex.assert_shape(losses, (2000,))
    assert float(losses[-50:].mean()) < float(losses[:50].mean())
    z = generators.prior(jax.random.key(1), config, 300)
    _, valid, _, _ = generators.generate(jax.random.key(2), config, params, z)
    assert float(valid.mean()) > 0.8
