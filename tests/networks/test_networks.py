"""The flax networks of NAS-Bench-201 and FBNet: shapes, cell semantics, and params
and FLOPs against the analytic counts and the benchmark's params."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import networks
from nasjax.hardware import fbnet_flops, fbnet_params, nb201_flops, nb201_params
from nasjax.networks.fbnet import channel_shuffle
from nasjax.networks.nb201 import Cell
from nasjax.spaces.nb201 import NUM_CLASSES, OPS, RESOLUTION


def _counts(space, arch, dataset):
    module, input_shape = networks.network(space, arch, dataset)
    return (
        networks.count_params(module, input_shape),
        networks.count_flops(module, input_shape),
    )


def test_nb201_output_shape_and_train_mode(key):
    arch = [3, 1, 4, 0, 2, 1]
    module, input_shape = networks.network("nb201", arch, "ImageNet16-120")
    assert input_shape == (16, 16, 3)
    images = jax.random.normal(key, (2, *input_shape))
    shapes = networks.variable_shapes(module, input_shape)
    variables = jax.tree.map(lambda leaf: jnp.full(leaf.shape, 0.1), shapes)
    logits = jax.jit(module.apply)(variables, images)
    assert logits.shape == (2, 120) and bool(jnp.all(jnp.isfinite(logits)))
    _, updated = jax.eval_shape(
        lambda v, x: module.apply(v, x, train=True, mutable=["batch_stats"]),
        variables,
        images,
    )
    assert jax.tree.structure(updated) == jax.tree.structure(
        {"batch_stats": variables["batch_stats"]}
    )


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet"])
def test_fbnet_output_shape(dataset):
    module, input_shape = networks.network("fbnet", [0, 8, 5] + [3] * 19, dataset)
    images = jax.ShapeDtypeStruct((2, *input_shape), jnp.float32)
    variables = networks.variable_shapes(module, input_shape)
    logits = jax.eval_shape(module.apply, variables, images)
    assert logits.shape == (2, 100 if dataset == "cifar100" else 1000)


def _cell_output(arch, x):
    cell = Cell(tuple(arch), x.shape[-1])
    return cell.apply(cell.init(jax.random.key(0), x), x)


def test_cell_sums_edges_as_defined(key):
    x = jax.random.normal(key, (1, 4, 4, 2))
    skip, none = OPS.index("skip_connect"), OPS.index("none")
    # Only edge 0 -> 3 is live: the cell is the identity.
    np.testing.assert_allclose(_cell_output([none] * 3 + [skip] + [none] * 2, x), x)
    # All skips: node1 = x, node2 = x + x, node3 = x + x + 2x.
    np.testing.assert_allclose(_cell_output([skip] * 6, x), 4 * x, rtol=1e-6)
    assert not np.any(np.asarray(_cell_output([none] * 6, x)))


def test_channel_shuffle_matches_shufflenet_order():
    x = jnp.arange(6.0).reshape(1, 1, 1, 6)
    # NCHW view(N, g, C/g) -> permute -> flatten: [0, 3, 1, 4, 2, 5] for g = 2.
    np.testing.assert_array_equal(channel_shuffle(x, 2).reshape(-1), [0, 3, 1, 4, 2, 5])


@pytest.mark.parametrize("dataset", ["cifar10", "ImageNet16-120"])
def test_nb201_params_and_flops_equal_analytic(dataset):
    archs = np.random.default_rng(0).integers(0, len(OPS), (2, 6))
    archs = np.concatenate([archs, [[3] * 6]])
    for arch in archs:
        params, flops = _counts("nb201", arch, dataset)
        classes, size = NUM_CLASSES[dataset], RESOLUTION[dataset]
        assert params == round(float(nb201_params(arch, classes)) * 1e6)
        np.testing.assert_allclose(flops / 1e6, nb201_flops(arch, classes, size), 1e-6)


@pytest.mark.parametrize("dataset", ["cifar100", "ImageNet"])
def test_fbnet_params_and_flops_equal_analytic(dataset):
    archs = np.random.default_rng(1).integers(0, 9, (1, 22))
    for arch in np.concatenate([archs, [[8] * 22]]):
        params, flops = _counts("fbnet", arch, dataset)
        np.testing.assert_allclose(params / 1e6, fbnet_params(arch, dataset), 1e-6)
        np.testing.assert_allclose(flops / 1e6, fbnet_flops(arch, dataset), 1e-6)


def test_nb201_params_equal_the_benchmark(nb201_table, nb201_space):
    """Where NATS-Bench stored its own count (all but 150 archs), it is the
    network's."""
    archs = np.asarray(nb201_space.from_benchmark_index(np.arange(0, 15625, 3001)))
    benchmark = np.asarray(nb201_table.query(archs, "cifar10/benchmark_params"))
    analytic = np.asarray(nb201_params(archs, 10))
    holds = np.isclose(benchmark, analytic, rtol=0, atol=1e-6)
    assert holds.sum() >= len(archs) - 1
    for arch, params in zip(archs[holds], benchmark[holds]):
        module, input_shape = networks.network("nb201", arch, "cifar10")
        assert networks.count_params(module, input_shape) == round(params * 1e6)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="not a NAS-Bench-201 architecture"):
        networks.network("nb201", [0, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="unknown nb201 dataset 'ImageNet'"):
        networks.network("nb201", [0] * 6, "ImageNet")
    with pytest.raises(ValueError, match="no networks for search space 'nb101'"):
        networks.network("nb101", [0] * 26)
    with pytest.raises(ValueError, match="not an FBNet architecture"):
        networks.network("fbnet", [0] * 21)
