"""Adapters found by lookup: a space defined only here gets every generic capability
(GCN inputs, a surrogate, BANANAS's defaults, networks, measurement-file rows) with no
edit in nasjax, and the spaces without a form say so in one sentence."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from nasjax import encodings, generators, networks, spaces, surrogates
from nasjax.data import measured
from nasjax.encodings import path
from nasjax.spaces._base import SearchSpace

NUM_LAYERS, NUM_OPS = 4, 3


@dataclasses.dataclass(frozen=True)
class ChainSpace(SearchSpace):
    """A toy space: a chain of 4 layers, each one of 3 ops."""

    name: str = "toy_chain"
    num_choices: tuple[int, ...] = (NUM_OPS,) * NUM_LAYERS

    def to_string(self, arch) -> str:
        arch = [int(op) for op in np.asarray(arch)]
        if len(arch) != NUM_LAYERS or not all(0 <= op < NUM_OPS for op in arch):
            raise ValueError(f"{arch} is not a toy_chain architecture")
        return "-".join(map(str, arch))

    def from_string(self, text: str) -> np.ndarray:
        return np.array([int(op) for op in text.split("-")], np.int32)


def chain_graphs(archs):
    """The toy space's GCN form: input, the 4 layers and output as a chain."""
    num_nodes = NUM_LAYERS + 2
    adjacency = jnp.asarray(np.eye(num_nodes, k=1, dtype=bool))

    def one(arch):
        ops = jnp.concatenate([jnp.array([NUM_OPS]), arch, jnp.array([NUM_OPS + 1])])
        features = jax.nn.one_hot(ops, NUM_OPS + 2)
        mask = jnp.ones(num_nodes, bool)
        return encodings.dag_graph(adjacency, features, mask, global_node=True)

    return encodings.merge_batch(jax.vmap(one)(archs))


class ChainNetwork(nn.Module):
    arch: tuple[int, ...]

    @nn.compact
    def __call__(self, images, train: bool = False):
        x = images.mean(axis=(1, 2))
        for op in self.arch:
            x = nn.relu(nn.Dense(4 * (op + 1))(x))
        return nn.Dense(10)(x)


@pytest.fixture
def toy(monkeypatch):
    """The toy space with its adapter and networks registered (for this test only)."""
    space = ChainSpace()
    monkeypatch.setitem(
        encodings.ADAPTERS, space.name, encodings.Adapter(space, graphs=chain_graphs)
    )
    family = networks.NetworkFamily(
        space,
        ("toy10",),
        "toy10",
        lambda arch, dataset: networks.Network(ChainNetwork(arch), (8, 8, 3)),
    )
    monkeypatch.setitem(networks.FAMILIES, space.name, family)
    return space


def test_a_registered_space_gets_gcn_inputs_and_a_surrogate(toy, key):
    archs = toy.sample(key, 5)
    adjacency, features = jax.jit(lambda a: surrogates.graph_inputs(toy, a))(archs)
    assert adjacency.shape == (5, 7, 7) and features.shape == (5, 7, 6)
    # The chain, the global node reading every node, the identity.
    expected = np.eye(7) + np.eye(7, k=1)
    expected[6, :] = 1.0
    expected[5, 6] = 0.0  # only the global node's row reads the others
    np.testing.assert_array_equal(np.asarray(adjacency[0]), expected)
    np.testing.assert_array_equal(
        np.asarray(features[:, 1:5, :NUM_OPS]).argmax(-1), np.asarray(archs)
    )
    model = surrogates.Predictor(head="unary", hidden=8, num_layers=2)
    params = surrogates.init_params(model, key, adjacency[:1], features[:1])
    values = model.apply(
        params, model.apply(params, adjacency, features), method="unary"
    )
    assert values.shape == (5,) and bool(jnp.all(jnp.isfinite(values)))


def test_a_registered_space_gets_defaults_networks_and_file_rows(toy):
    import importlib

    bananas = importlib.import_module("nasjax.search.bananas")
    rates = bananas.slot_mutation_probabilities(toy)
    np.testing.assert_allclose(rates, np.full(NUM_LAYERS, 1 / (NUM_LAYERS - 2)))
    adapter = encodings.adapter(toy)
    archs = np.array([[0, 1, 2, 0], [2, 2, 2, 2]], np.int32)
    np.testing.assert_array_equal(adapter.ids(archs), toy.index(archs))
    np.testing.assert_array_equal(measured.arch_indices(toy, archs), [-1, -1])
    network = networks.network("toy_chain", archs[0])
    assert network.input_shape == (8, 8, 3)
    assert networks.count_params(*network) > 0
    with pytest.raises(ValueError, match="not a toy_chain architecture"):
        networks.network("toy_chain", [0, 1, 5, 0])
    with pytest.raises(ValueError, match="unknown toy_chain dataset 'cifar10'"):
        networks.network("toy_chain", archs[0], "cifar10")


def test_forms_a_space_lacks_fail_in_one_sentence(toy):
    with pytest.raises(ValueError, match="no path encoding for search space 'toy_"):
        path.num_features(toy)
    with pytest.raises(ValueError, match="decodes nb101 and nb201 cells, not 'toy"):
        generators.graph_format(toy)
    with pytest.raises(ValueError, match="no encodings for search space 'nowhere'"):
        encodings.adapter("nowhere")
    assert encodings.find("nowhere") is None and networks.find("nowhere") is None
    with pytest.raises(ValueError, match="no networks for search space 'nb101'"):
        networks.network("nb101", np.zeros(26, np.int32))


@pytest.mark.parametrize("name", ["nb201", "nb101", "fbnet"])
def test_the_shipped_spaces_are_found_by_name(name):
    space = spaces.get(name)
    adapter = encodings.adapter(name)
    assert adapter.space == space and encodings.adapter(space) is adapter
    graphs = adapter.graphs(jnp.zeros((3, space.num_slots), jnp.int32))
    assert graphs.n_node.shape == (3,)
    # The generator's round trip is tested in tests/generators/.
    assert (adapter.generator is not None) == (name != "fbnet")
    assert (adapter.path is not None) == (name != "fbnet")
    assert (adapter.benchmark_index is not None) == (name == "nb201")
    assert (networks.find(name) is not None) == (name != "nb101")
