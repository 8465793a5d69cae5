"""nasjax.fewshot on synthetic devices: additive op costs drawn from a shared prior."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import fewshot, metrics, spaces
from nasjax.fewshot import protocol


@pytest.fixture(scope="module")
def space():
    return spaces.nb201()


@pytest.fixture(scope="module")
def archs(space):
    return np.asarray(space.enumerate())


def _devices(space, archs, num_devices, seed, noise=0.01):
    """``[A, T]`` latencies (ms): positive op costs that vary across devices along two
    shared factors (as compute- vs memory-bound hardware), plus multiplicative noise."""
    rng = np.random.default_rng(seed)
    d = fewshot.model.num_features(space)
    base = rng.uniform(0.5, 2.0, d)
    factors = rng.normal(0.0, 1.0, (2, d))
    loadings = rng.normal(0.0, 0.4, (num_devices, 2))
    costs = base * np.exp(loadings @ factors + rng.normal(0.0, 0.05, (num_devices, d)))
    scales = rng.uniform(1.0, 50.0, num_devices)
    x = np.asarray(fewshot.features(space, archs))
    clean = (x @ costs.T) * scales
    return clean * rng.lognormal(0.0, noise, clean.shape)


def test_features_one_hot(space, archs):
    x = np.asarray(fewshot.features(space, archs[:7]))
    assert x.shape == (7, 1 + sum(c - 1 for c in space.num_choices))
    np.testing.assert_array_equal(x[:, 0], 1.0)
    np.testing.assert_array_equal(x[:, 1:].sum(axis=1), (archs[:7] > 0).sum(axis=1))
    # Slot 5 of arch 1 holds choice 1: the first indicator of slot 5's block.
    assert archs[1, 5] == 1 and x[1, 1 + 5 * 4] == 1.0


def test_adapt_recovers_a_new_device_from_ten_samples(space, archs):
    latencies = _devices(space, archs, 10, seed=0)
    prior = fewshot.pretrain(space, archs, latencies[:, :9])
    rows = np.random.default_rng(1).choice(len(archs), 10, replace=False)
    adapted = fewshot.adapt(prior, space, archs[rows], latencies[rows, 9])
    predicted = fewshot.predict(adapted, space, archs)
    rho = float(metrics.spearman_rho(predicted, latencies[:, 9]))
    assert rho > 0.9
    # The prior matters: without it (zero mean, no covariance) ten samples rank worse.
    flat = fewshot.HardwarePrior(
        jnp.zeros_like(prior.mean), jnp.zeros_like(prior.cov), prior.num_devices
    )
    flat_rho = metrics.spearman_rho(
        fewshot.predict(
            fewshot.adapt(flat, space, archs[rows], latencies[rows, 9]), space, archs
        ),
        latencies[:, 9],
    )
    assert rho > float(flat_rho) + 0.05
    # Predictions are in the device's milliseconds.
    ratio = np.median(np.asarray(predicted) / latencies[:, 9])
    assert 0.8 < ratio < 1.25


def test_masked_samples_are_ignored(space, archs):
    latencies = _devices(space, archs, 5, seed=2)
    prior = fewshot.pretrain(space, archs, latencies[:, :4])
    rows = np.arange(0, 2000, 100)[:12]
    mask = np.arange(12) < 8
    padded = latencies[rows, 4].copy()
    padded[~mask] = 1e6  # garbage in the masked slots
    masked = fewshot.adapt(prior, space, archs[rows], padded, mask)
    exact = fewshot.adapt(prior, space, archs[rows[:8]], latencies[rows[:8], 4])
    chex.assert_trees_all_close(masked, exact, rtol=2e-3, atol=1e-3)
    # NaN and non-positive latencies count as masked.
    padded[~mask] = np.nan
    padded[-1] = -3.0
    chex.assert_trees_all_close(
        fewshot.adapt(prior, space, archs[rows], padded), exact, rtol=2e-3, atol=1e-3
    )


def test_adapt_vmaps_over_devices_and_seeds(space, archs):
    latencies = _devices(space, archs, 6, seed=3)
    prior = fewshot.pretrain(space, archs, latencies[:, :3])
    rows = jnp.asarray(
        np.random.default_rng(0).choice(len(archs), (3, 2, 10), replace=False)
    )
    batched = jax.vmap(
        jax.vmap(
            lambda r, y: fewshot.adapt(prior, space, jnp.asarray(archs)[r], y[r]),
            in_axes=(0, None),
        ),
        in_axes=(0, 1),
    )(rows, jnp.asarray(latencies[:, 3:]))
    one = np.asarray(rows[1, 0])
    single = fewshot.adapt(prior, space, archs[one], latencies[one, 4])
    chex.assert_shape(batched.weights, (3, 2, prior.mean.shape[0]))
    chex.assert_trees_all_close(
        jax.tree.map(lambda x: x[1, 0], batched), single, rtol=1e-4, atol=1e-5
    )


def test_select_picks_distinct_informative_architectures(space, archs):
    latencies = _devices(space, archs, 8, seed=4)
    prior = fewshot.pretrain(space, archs, latencies[:, :7])
    chosen = np.asarray(fewshot.select(prior, space, archs, 10))
    assert len(set(chosen.tolist())) == 10
    allowed = np.zeros(len(archs), bool)
    allowed[100:200] = True
    chosen_in = np.asarray(fewshot.select(prior, space, archs, 5, allowed))
    assert np.all((chosen_in >= 100) & (chosen_in < 200))

    # Selected samples adapt at least as well as the median random draw.
    def rho(rows):
        adapted = fewshot.adapt(prior, space, archs[rows], latencies[rows, 7])
        predicted = fewshot.predict(adapted, space, archs)
        return float(metrics.spearman_rho(predicted, latencies[:, 7]))

    rng = np.random.default_rng(5)
    random = [rho(rng.choice(len(archs), 10, replace=False)) for _ in range(5)]
    assert rho(chosen) >= np.median(random) - 0.01


def test_pretrain_device_mask_equals_dropping_the_column(space, archs):
    """Leave-one-out leaks nothing: masking a device equals never having it."""
    latencies = _devices(space, archs, 5, seed=6)
    mask = np.array([True, True, False, True, True])
    masked = fewshot.pretrain(space, archs, latencies, device_mask=mask)
    dropped = fewshot.pretrain(space, archs, latencies[:, mask])
    chex.assert_trees_all_close(masked, dropped, rtol=1e-4, atol=1e-6)
    # ... and the held-out column's values do not change its prior at all.
    changed = latencies.copy()
    changed[:, 2] = np.random.default_rng(0).uniform(1, 100, len(archs))
    chex.assert_trees_all_close(
        fewshot.pretrain(space, archs, changed, device_mask=mask), masked
    )


def test_leave_one_out_masks_group_hardware():
    columns = [
        "help/titan_rtx_1",
        "help/titan_rtx_256",
        "cifar10/eyeriss_latency",
        "help/gold_6226",
        "help/essential_ph_1",
    ]
    masks = np.asarray(protocol.leave_one_out_masks(columns))
    assert not masks[0, 1] and not masks[1, 0]  # same GPU, another batch size
    assert masks[0, 2] and masks[2, 3]
    assert not masks.diagonal().any()
    assert protocol.hardware_of("help/essential_ph_1") == "essential_ph_1"
    assert protocol.hardware_of("ImageNet/fpga_latency") == "fpga"


def test_evaluate_grid_matches_single_adaptations(space, archs):
    latencies = _devices(space, archs, 5, seed=7)
    prior = fewshot.pretrain(space, archs, latencies[:, :3])
    evaluated = latencies[:, 3:]
    pools = [np.arange(0, 3000), np.arange(3000, 6000)]
    queries = [np.arange(6000, 9000), np.arange(9000, 12000)]
    grid = protocol.random_grid(pools, queries, len(archs), (5, 10), 2, seed=0)
    rho = np.asarray(fewshot.evaluate_grid(prior, space, archs, evaluated, grid))
    assert rho.shape == (2, 4)
    t, g = 1, 3  # second device, size 10, second draw
    rows = np.asarray(grid.samples[t, g])[np.asarray(grid.sample_mask[t, g])]
    assert len(rows) == 10 and np.all((rows >= 3000) & (rows < 6000))
    adapted = fewshot.adapt(prior, space, archs[rows], evaluated[rows, t])
    expected = metrics.spearman_rho(
        fewshot.predict(adapted, space, archs), evaluated[:, t], grid.query_mask[t]
    )
    np.testing.assert_allclose(rho[t, g], float(expected), rtol=1e-5)


def test_help_indices_trim_to_the_middle_80_percent():
    latency = np.concatenate([np.arange(100.0)[::-1], np.arange(50.0)])
    pool, query = protocol.help_indices(latency, 100, 50)
    assert len(pool) == 80 and len(query) == 40
    assert set(latency[pool]) == set(np.arange(10.0, 90.0))
    assert np.all((query >= 100) & (query < 150))
    assert set(latency[query]) == set(np.arange(5.0, 45.0))


@pytest.mark.parametrize(
    "archs_, latencies, message",
    [
        (np.zeros((3, 5), int), [1.0, 2.0, 3.0], "must be"),
        (np.zeros((2, 6), int), [1.0, 2.0], "twice"),
        ([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 9]], [1.0, 2.0], "not valid"),
        ([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]], [1.0, np.nan], "finite"),
        ([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]], [1.0, 0.0], "positive"),
        ([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]], [1.0, 2.0, 3.0], "latencies"),
    ],
)
def test_check_samples_names_the_problem(space, archs_, latencies, message):
    with pytest.raises(ValueError, match=message):
        fewshot.check_samples(space, np.asarray(archs_), np.asarray(latencies))
    good = np.asarray([[0, 1, 2, 3, 4, 0], [1, 1, 1, 1, 1, 1]])
    with pytest.raises(ValueError, match="fewer than 10"):
        fewshot.check_samples(space, good, np.array([1.0, 2.0]), k=10)
