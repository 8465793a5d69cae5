"""Pareto tools against brute-force NumPy on many small random inputs."""

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import pareto
from nasjax.data import Table

NUM_CASES = 60
MAX_POINTS = 12

# One compiled program per shape: the property tests call these many times.
domination_matrix = jax.jit(pareto.domination_matrix)
non_dominated = jax.jit(pareto.non_dominated)
pareto_ranks = jax.jit(pareto.pareto_ranks)
crowding_distance = jax.jit(pareto.crowding_distance)
hypervolume = jax.jit(pareto.hypervolume)
hypervolume_2d = jax.jit(pareto.hypervolume_2d)
hypervolume_3d = jax.jit(pareto.hypervolume_3d)
igd = jax.jit(pareto.igd)
igd_plus = jax.jit(pareto.igd_plus)


# --------------------------------------------------------------- references
def ref_dominates(a, b):
    return bool(np.all(a <= b) and np.any(a < b))


def ref_ok(objs, valid):
    return valid & ~np.any(np.isnan(objs), axis=1)


def ref_ranks(objs, valid):
    """Repeated peeling by explicit pairwise checks."""
    num = len(objs)
    ranks = np.full(num, num)
    remaining = set(np.flatnonzero(ref_ok(objs, valid)).tolist())
    front_index = 0
    while remaining:
        front = [
            j
            for j in remaining
            if not any(ref_dominates(objs[i], objs[j]) for i in remaining)
        ]
        ranks[front] = front_index
        remaining -= set(front)
        front_index += 1
    return ranks


def ref_crowding(objs, ranks, valid):
    """Textbook NSGA-II crowding, stable sort (ties by index)."""
    num, num_objs = objs.shape
    ok = ref_ok(objs, valid)
    dist = np.where(ok, 0.0, -np.inf)
    for r in np.unique(ranks[ok]):
        members = np.flatnonzero(ok & (ranks == r))
        for m in range(num_objs):
            vals = objs[members, m]
            order = members[np.argsort(vals, kind="stable")]
            span = vals.max() - vals.min()
            dist[order[0]] = dist[order[-1]] = np.inf
            for k in range(1, len(order) - 1):
                if span > 0:
                    gap = objs[order[k + 1], m] - objs[order[k - 1], m]
                    dist[order[k]] += gap / span
    return dist


def ref_hypervolume(objs, reference, valid):
    """Inclusion-exclusion over subsets of the points inside the box."""
    ok = ref_ok(objs, valid) & np.all(objs < reference, axis=1)
    pts = objs[ok].astype(np.float64)
    total = 0.0
    for size in range(1, len(pts) + 1):
        for subset in itertools.combinations(range(len(pts)), size):
            corner = pts[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * np.prod(reference - corner)
    return total


def ref_hypervolume_grid(objs, reference, valid):
    """Counts the unit cells of an integer grid that some point dominates."""
    ok = ref_ok(objs, valid) & np.all(objs < reference, axis=1)
    pts = objs[ok].astype(int)
    low = int(min(pts.min(), 0)) if len(pts) else 0
    axes = [np.arange(low, int(r)) for r in reference]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
    covered = np.zeros(len(cells), bool)
    for p in pts:
        covered |= np.all(cells >= p, axis=1)
    return float(covered.sum())


def ref_igd(points, valid, front, front_valid, plus):
    ok = ref_ok(points, valid)
    total, count = 0.0, 0
    for z in front[ref_ok(front, front_valid)]:
        if plus:
            d = [np.sqrt(np.sum(np.maximum(a - z, 0) ** 2)) for a in points[ok]]
        else:
            d = [np.linalg.norm(a - z) for a in points[ok]]
        total += min(d, default=np.inf)
        count += 1
    return total / count


def random_case(rng, num_objs=None, num_points=None, integer=None):
    """Small points with ties, duplicates, invalid and NaN entries.

    ``num_points`` (default 1..12) real points are scattered among ``MAX_POINTS``
    rows; the padding rows hold garbage and are invalid, so one compiled program per
    ``M`` serves every case and padding is tested on the way.
    """
    num_points = num_points or int(rng.integers(1, MAX_POINTS + 1))
    num_objs = num_objs or int(rng.integers(2, 4))
    integer = bool(rng.integers(2)) if integer is None else integer
    if integer:
        objs = rng.integers(0, 5, size=(MAX_POINTS, num_objs)).astype(np.float32)
    else:
        objs = rng.random((MAX_POINTS, num_objs)).astype(np.float32)
    if rng.random() < 0.5:  # an exact duplicate
        objs[rng.integers(MAX_POINTS)] = objs[rng.integers(MAX_POINTS)]
    valid = rng.random(MAX_POINTS) < 0.8
    valid[rng.permutation(MAX_POINTS)[: MAX_POINTS - num_points]] = False
    if rng.random() < 0.3:
        objs[rng.integers(MAX_POINTS), rng.integers(num_objs)] = np.nan
    return objs, valid


def cases(seed, **kwargs):
    rng = np.random.default_rng(seed)
    return [random_case(rng, **kwargs) for _ in range(NUM_CASES)]


# ------------------------------------------------------------- vs references
def test_dominates_matches_definition():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = rng.integers(0, 3, size=(2, 3)).astype(np.float32)
        assert bool(pareto.dominates(a, b)) == ref_dominates(a, b)
    assert not bool(pareto.dominates(jnp.array([0.0, 0.0]), jnp.array([0.0, 0.0])))


def test_domination_matrix_and_non_dominated_match_brute_force():
    for objs, valid in cases(1):
        ok = ref_ok(objs, valid)
        num = len(objs)
        expected = np.array(
            [
                [
                    ok[i] and ok[j] and ref_dominates(objs[i], objs[j])
                    for j in range(num)
                ]
                for i in range(num)
            ]
        ).reshape(num, num)
        np.testing.assert_array_equal(domination_matrix(objs, valid), expected)
        front = ok & ~expected.any(axis=0)
        np.testing.assert_array_equal(non_dominated(objs, valid), front)


def test_pareto_ranks_match_repeated_peeling():
    for objs, valid in cases(2):
        np.testing.assert_array_equal(pareto_ranks(objs, valid), ref_ranks(objs, valid))


def test_pareto_ranks_give_duplicates_one_rank_and_invalid_rank_p():
    objs = np.array([[1, 1], [1, 1], [0, 2], [2, 2], [np.nan, 0], [0, 0]], np.float32)
    valid = np.array([True, True, True, True, True, False])
    np.testing.assert_array_equal(pareto_ranks(objs, valid), [0, 0, 0, 1, 6, 6])


def test_pareto_ranks_on_a_chain_needs_p_fronts():
    objs = np.repeat(np.arange(12.0)[::-1, None], 2, axis=1)
    ranks = pareto_ranks(objs, np.ones(12, bool))
    np.testing.assert_array_equal(ranks, np.arange(12)[::-1])


def test_crowding_distance_matches_textbook():
    for objs, valid in cases(3):
        ranks = np.asarray(pareto_ranks(objs, valid))
        got = crowding_distance(objs, ranks, valid)
        np.testing.assert_allclose(got, ref_crowding(objs, ranks, valid), rtol=1e-5)


def test_crowding_distance_hand_example():
    objs = np.array([[0, 4], [1, 2], [3, 1], [4, 0], [5, 5]], np.float32)
    valid = np.array([True, True, True, True, False])
    ranks = pareto_ranks(objs, valid)
    got = np.asarray(crowding_distance(objs, ranks, valid))
    np.testing.assert_allclose(
        got, [np.inf, 3 / 4 + 3 / 4, 3 / 4 + 2 / 4, np.inf, -np.inf]
    )


@pytest.mark.parametrize("num_objs", [2, 3])
def test_hypervolume_matches_inclusion_exclusion(num_objs):
    rng = np.random.default_rng(4 + num_objs)
    fn = {2: hypervolume_2d, 3: hypervolume_3d}[num_objs]
    for _ in range(NUM_CASES):
        objs, valid = random_case(rng, num_objs=num_objs, integer=False)
        # A reference that leaves some points outside the box.
        reference = rng.uniform(0.5, 1.1, num_objs).astype(np.float32)
        expected = ref_hypervolume(objs, reference, valid)
        np.testing.assert_allclose(fn(objs, reference, valid), expected, atol=1e-5)
        np.testing.assert_allclose(
            hypervolume(objs, reference, valid), expected, atol=1e-5
        )


@pytest.mark.parametrize("num_objs", [2, 3])
def test_hypervolume_matches_grid_count_with_ties(num_objs):
    rng = np.random.default_rng(10 + num_objs)
    for _ in range(NUM_CASES):
        objs, valid = random_case(rng, num_objs=num_objs, integer=True)
        objs = objs - 1.0  # some negative coordinates
        reference = rng.integers(1, 5, num_objs).astype(np.float32)
        got = hypervolume(objs, reference, valid)
        assert float(got) == ref_hypervolume_grid(objs, reference, valid)


def test_hypervolume_3d_larger_population_against_grid():
    rng = np.random.default_rng(14)
    objs = rng.integers(0, 8, size=(300, 3)).astype(np.float32)
    valid = rng.random(300) < 0.9
    reference = np.array([8.0, 8.0, 8.0], np.float32)
    got = hypervolume_3d(objs, reference, valid)
    assert float(got) == ref_hypervolume_grid(objs, reference, valid)


@pytest.mark.parametrize("is_valid", [True, False])
def test_a_single_point(is_valid):
    objs, valid = np.array([[1.0, 2.0, 0.5]], np.float32), np.array([is_valid])
    ranks = pareto.pareto_ranks(objs, valid)
    np.testing.assert_array_equal(ranks, [0 if is_valid else 1])
    np.testing.assert_array_equal(pareto.non_dominated(objs, valid), [is_valid])
    crowding = pareto.crowding_distance(objs, ranks, valid)
    np.testing.assert_array_equal(crowding, [np.inf if is_valid else -np.inf])
    volume = pareto.hypervolume(objs, np.array([2.0, 3.0, 1.0]), valid)
    np.testing.assert_allclose(volume, 0.5 if is_valid else 0.0)
    area = pareto.hypervolume(objs[:, :2], np.array([2.0, 3.0]), valid)
    np.testing.assert_allclose(area, 1.0 if is_valid else 0.0)


def test_hypervolume_rejects_other_objective_counts():
    with pytest.raises(ValueError, match="2 or 3"):
        hypervolume(jnp.zeros((3, 4)), jnp.ones(4), jnp.ones(3, bool))


@pytest.mark.parametrize("plus", [False, True], ids=["igd", "igd_plus"])
def test_igd_matches_direct_formula(plus):
    fn = igd_plus if plus else igd
    rng = np.random.default_rng(20 + plus)
    for _ in range(NUM_CASES):
        points, valid = random_case(rng)
        front, front_valid = random_case(rng, num_objs=points.shape[1])
        front_valid[0] = True
        front[0] = np.nan_to_num(front[0])
        valid[0] = True
        points[0] = np.nan_to_num(points[0])
        expected = ref_igd(points, valid, front, front_valid, plus)
        got = fn(points, valid, front, front_valid)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_igd_plus_ignores_better_objectives():
    front = np.array([[1.0, 1.0]], np.float32)
    points = np.array([[0.0, 3.0], [5.0, 5.0]], np.float32)
    both = np.ones(2, bool)
    np.testing.assert_allclose(
        pareto.igd_plus(points, both, front, np.ones(1, bool)), 2
    )
    np.testing.assert_allclose(
        pareto.igd(points, both, front, np.ones(1, bool)), np.sqrt(5)
    )


def test_igd_edge_cases():
    pts, front = jnp.zeros((2, 2)), jnp.ones((3, 2))
    none, all_ = jnp.zeros(2, bool), jnp.ones(3, bool)
    assert float(pareto.igd(pts, none, front, all_)) == np.inf
    assert np.isnan(
        float(pareto.igd(pts, jnp.ones(2, bool), front, jnp.zeros(3, bool)))
    )


def test_normalise_maps_ideal_and_nadir():
    objs = np.array([[1, 10], [3, 10], [2, 10], [100, -100]], np.float32)
    valid = np.array([True, True, True, False])
    got = np.asarray(pareto.normalise(objs, valid))
    np.testing.assert_allclose(got, [[0, 0], [1, 0], [0.5, 0], [100, -100]])


# --------------------------------------------------------- transformations
def _all_metrics(objs, valid, reference):
    ranks = pareto.pareto_ranks(objs, valid)
    return dict(
        non_dominated=pareto.non_dominated(objs, valid),
        ranks=ranks,
        crowding=pareto.crowding_distance(objs, ranks, valid),
        hypervolume=pareto.hypervolume(objs, reference, valid),
        igd=pareto.igd(objs, valid, objs[:3], jnp.ones(3, bool)),
        igd_plus=pareto.igd_plus(objs, valid, objs[:3], jnp.ones(3, bool)),
    )


@pytest.mark.parametrize("num_objs", [2, 3])
def test_jit_and_vmap_match_eager(num_objs):
    rng = np.random.default_rng(30 + num_objs)
    batch = [
        random_case(rng, num_objs=num_objs, num_points=10, integer=True)
        for _ in range(3)
    ]
    objs = np.stack([b[0] for b in batch])
    valid = np.stack([b[1] for b in batch])
    reference = np.full(num_objs, 4.5, np.float32)
    eager = [_all_metrics(o, v, reference) for o, v in zip(objs, valid)]
    eager = jax.tree.map(lambda *xs: jnp.stack(xs), *eager)
    jitted = jax.jit(_all_metrics)
    per_case = [jitted(o, v, reference) for o, v in zip(objs, valid)]
    per_case = jax.tree.map(lambda *xs: jnp.stack(xs), *per_case)
    batched = jax.jit(jax.vmap(_all_metrics, in_axes=(0, 0, None)))(
        objs, valid, reference
    )
    chex.assert_trees_all_close(per_case, eager, rtol=1e-6)
    chex.assert_trees_all_close(batched, eager, rtol=1e-6)


all_metrics = jax.jit(_all_metrics)


def test_invalid_points_never_change_results():
    rng = np.random.default_rng(40)
    for objs, valid in cases(41, num_points=10):
        valid[0] = False
        reference = np.full(objs.shape[1], 0.8, np.float32)
        before = all_metrics(objs, valid, reference)
        for extreme in (-1e30, 1e30, 0.0):
            edited = objs.copy()
            edited[~valid] = extreme * rng.choice([-1, 1], size=edited[~valid].shape)
            after = all_metrics(edited, valid, reference)
            # igd's reference front is objs[:3]; keep it out of the comparison.
            for name in ("non_dominated", "ranks", "crowding", "hypervolume"):
                chex.assert_trees_all_close(after[name], before[name])
        # IGD on the point side: invalid points do not count.
        front = rng.random((4, objs.shape[1])).astype(np.float32)
        edited = objs.copy()
        edited[~valid] = -1e30
        for fn in (igd, igd_plus):
            chex.assert_trees_all_close(
                fn(edited, valid, front, np.ones(4, bool)),
                fn(objs, valid, front, np.ones(4, bool)),
            )


def test_invalid_reference_points_never_change_igd():
    rng = np.random.default_rng(42)
    points = rng.random((6, 2)).astype(np.float32)
    front = rng.random((5, 2)).astype(np.float32)
    front_valid = np.array([True, False, True, False, True])
    edited = front.copy()
    edited[~front_valid] = 1e30
    for fn in (pareto.igd, pareto.igd_plus):
        ones = np.ones(6, bool)
        chex.assert_trees_all_close(
            fn(points, ones, edited, front_valid), fn(points, ones, front, front_valid)
        )


# ---------------------------------------------------------------- tables
def test_minimisation_signs():
    signs = pareto.minimisation_signs(["cifar10/test_acc", "cifar10/params", "x/lat"])
    np.testing.assert_array_equal(signs, [-1, 1, 1])


def test_table_front_matches_brute_force(nb201_space):
    rng = np.random.default_rng(50)
    rows = rng.permutation(nb201_space.size)[:200]
    archs = np.asarray(nb201_space.from_index(rows))
    acc = rng.integers(0, 20, 200).astype(np.float32)  # ties
    params = rng.integers(0, 20, 200).astype(np.float32)
    acc[:5] = np.nan
    params[5:8] = np.nan
    acc[10] = acc[11] = 30.0  # two rows on the front with equal values
    params[10] = params[11] = 0.0
    table = Table.from_rows(
        nb201_space, archs, {"toy/valid_acc": acc, "toy/params": params}
    )
    got_archs, got_values = pareto.table_front(table, ["toy/valid_acc", "toy/params"])

    values = np.stack([acc, params], axis=1)
    ok = ~np.isnan(values).any(axis=1)
    minimised = values * [-1, 1]
    expected = [
        i
        for i in np.flatnonzero(ok)
        if not any(
            ref_dominates(minimised[j], minimised[i]) for j in np.flatnonzero(ok)
        )
    ]
    assert len(got_archs) == len(expected) >= 2
    np.testing.assert_array_equal(
        np.sort(nb201_space.index(got_archs)), np.sort(rows[expected])
    )
    order = np.argsort(nb201_space.index(got_archs))
    np.testing.assert_array_equal(
        got_values[order], values[expected][np.argsort(rows[expected])]
    )
    chex.assert_shape(got_archs, (len(expected), nb201_space.num_slots))


def test_table_front_on_real_data(nb201_table):
    columns = ["cifar10/test_acc", "cifar10/params"]
    archs, values = pareto.table_front(nb201_table, columns)
    assert len(archs) > 0
    assert not np.isnan(values).any()
    np.testing.assert_array_equal(
        nb201_table.query(jnp.asarray(archs), columns[0]), values[:, 0]
    )
    minimised = jnp.asarray(values * pareto.minimisation_signs(columns))
    assert bool(pareto.non_dominated(minimised, jnp.ones(len(archs), bool)).all())
    # Nothing in the whole table dominates a front point.
    every = np.stack([np.asarray(nb201_table.values(c)) for c in columns], axis=1)
    every = every[~np.isnan(every).any(axis=1)] * pareto.minimisation_signs(columns)
    for point in np.asarray(minimised):
        assert not np.any(
            np.all(every <= point, axis=1) & np.any(every < point, axis=1)
        )
