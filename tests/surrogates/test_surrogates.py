"""The BRP-NAS GCN predictor: inputs as eagle builds them, the model, losses, fit."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasjax import surrogates
from nasjax.surrogates import losses

# eagle's op indices: 0 none, 1 skip, 2 conv1x1, 3 conv3x3, 4 avgpool (= ours).
_WIRING = (
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


def _eagle_inputs(arch):
    """Independent port of eagle's NB201 graph (global node first), for comparison."""
    matrix = np.zeros((8, 8), int)
    for src, dst in _WIRING:
        matrix[src, dst] = 1
    labels = ["input"] + [None] * 6 + ["output"]
    for slot, op in enumerate(arch):
        node = slot + 1
        if op == 0:
            matrix[:, node] = 0
            matrix[node, :] = 0
        elif op == 1:
            for pred in np.flatnonzero(matrix[:, node]):
                for succ in np.flatnonzero(matrix[node, :]):
                    matrix[pred, succ] = 1
            matrix[:, node] = 0
            matrix[node, :] = 0
        else:
            labels[node] = op

    def reach(start, step):
        seen, todo = {start}, [start]
        while todo:
            v = todo.pop()
            for w in np.flatnonzero(step[v]):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    on_path = reach(0, matrix) & reach(7, matrix.T)
    for v in range(8):
        if v not in on_path:
            labels[v] = None if 0 < v < 7 else labels[v]
            matrix[v, :] = 0
            matrix[:, v] = 0
    adjacency = np.zeros((9, 9))
    adjacency[1:, 1:] = matrix
    adjacency[0, 1:] = 1
    adjacency += np.eye(9)
    features = np.zeros((9, 6))
    features[0, 5], features[1, 3], features[8, 4] = 1, 1, 1
    for v in range(1, 7):
        if labels[v] is not None:
            features[v + 1, labels[v] - 2] = 1
    return adjacency, features


def test_inputs_equal_eagles_graphs(nb201_space):
    archs = np.asarray(nb201_space.from_index(np.arange(0, 15625, 7)))
    adjacency, features = surrogates.graph_inputs(nb201_space, archs)
    # Our global node is last; eagle's first.
    order = np.r_[8, 0:8]
    for arch, a, f in zip(archs, np.asarray(adjacency), np.asarray(features)):
        want_a, want_f = _eagle_inputs(arch)
        np.testing.assert_array_equal(a[np.ix_(order, order)], want_a, err_msg=arch)
        np.testing.assert_array_equal(f[order], want_f, err_msg=str(arch))


def _numpy_gcn(params, adjacency, features):
    """Every layer over every row, eval mode: the reference's arithmetic."""
    gcn = params["params"]["gcn"]
    x = features
    layer = 0
    while f"weight_{layer}" in gcn:
        x = adjacency @ (x @ np.asarray(gcn[f"weight_{layer}"]))
        x = x + np.asarray(gcn[f"bias_{layer}"])
        norm = gcn[f"norm_{layer}"]
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        x = (x - mean) / np.sqrt(var + 1e-5) * np.asarray(norm["scale"])
        x = np.maximum(x + np.asarray(norm["bias"]), 0.0)
        layer += 1
    return x[..., -1, :]


@pytest.fixture(scope="module")
def small(nb201_space):
    model = surrogates.Predictor(head="binary", hidden=16, num_layers=3, dropout=0.2)
    archs = np.asarray(nb201_space.from_index(np.arange(0, 15625, 97)))
    inputs = surrogates.graph_inputs(nb201_space, archs)
    params = surrogates.init_params(
        model, jax.random.key(0), inputs[0][0], inputs[1][0]
    )
    return model, params, inputs


def test_gcn_matches_full_arithmetic_and_init_bounds(small):
    model, params, (adjacency, features) = small
    got = model.apply(params, adjacency, features)
    want = _numpy_gcn(params, np.asarray(adjacency), np.asarray(features))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    bound = 1 / np.sqrt(16)
    weight = np.asarray(params["params"]["gcn"]["weight_1"])
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    assert params["params"]["out"]["kernel"].shape == (32, 2)


def test_dropout_only_in_training(small):
    model, params, (adjacency, features) = small
    eval_a = model.apply(params, adjacency, features)
    eval_b = model.apply(params, adjacency, features)
    np.testing.assert_array_equal(eval_a, eval_b)
    train = model.apply(
        params, adjacency, features, train=True, rngs={"dropout": jax.random.key(1)}
    )
    assert not np.allclose(train, eval_a)


def test_scores_are_the_heads_antisymmetric_part(small):
    model, params, (adjacency, features) = small
    embeddings = model.apply(params, adjacency, features)
    margins = surrogates.pair_margins(params, embeddings, embeddings)
    score = surrogates.scores(params, embeddings)
    np.testing.assert_allclose(
        margins - margins.T, 2 * (score[:, None] - score[None, :]), atol=1e-5
    )
    logits = model.apply(
        params,
        embeddings[:5],
        embeddings[5:10],
        method=surrogates.Predictor.pair_logits,
    )
    np.testing.assert_allclose(
        logits[:, 0] - logits[:, 1], np.diag(margins[:5, 5:10]), atol=1e-5
    )


def test_comparator_sort_equals_score_order_for_an_antisymmetric_head(small):
    model, params, (adjacency, features) = small
    embeddings = model.apply(params, adjacency, features)
    kernel = np.asarray(params["params"]["out"]["kernel"])
    hidden = kernel.shape[0] // 2
    antisymmetric = dict(params["params"])
    antisymmetric["out"] = {
        "kernel": jnp.concatenate([kernel[:hidden], kernel[:hidden][:, ::-1]]),
        "bias": jnp.zeros(2),
    }
    params = {"params": antisymmetric}
    position = surrogates.comparator_ranking(params, embeddings)
    score = np.asarray(surrogates.scores(params, embeddings))
    assert sorted(position) == list(range(len(score)))
    # Ascending predicted order (isomorphic cells tie: any order among them).
    assert np.all(np.diff(score[np.argsort(position)]) >= -1e-6)


def test_brp_kl_is_the_kl_divergence():
    margin = jnp.array([2.0, -1.0, 0.3])
    first = jnp.array([0.9, 0.2, 0.5])
    second = jnp.array([0.1, 0.4, 0.5])
    target = jax.nn.softmax(jnp.stack([first, second], -1))
    log_q = jax.nn.log_softmax(jnp.stack([margin, jnp.zeros(3)], -1))
    want = jnp.sum(target * (jnp.log(target) - log_q))
    mask = jnp.ones(3, bool)
    np.testing.assert_allclose(losses.brp_kl(margin, first, second, mask), want, 1e-5)
    assert losses.brp_kl(first - second, first, second, mask) < 1e-6
    assert losses.brp_kl(margin, first, second, jnp.zeros(3, bool)) == 0.0
    # Ranking losses ignore tied pairs and reward correct signs.
    assert losses.hinge(jnp.array([1.0]), first[:1], second[:1], mask[:1]) == 0.0
    assert losses.logistic(jnp.array([5.0]), second[2:], first[2:], mask[2:]) == 0.0


def _toy_set(nb201_space, capacity=24, live=16, seed=0):
    rng = np.random.default_rng(seed)
    archs = np.asarray(nb201_space.from_index(rng.choice(15625, capacity, False)))
    adjacency, features = surrogates.graph_inputs(nb201_space, archs)
    # A learnable target: the share of conv3x3 edges.
    targets = jnp.asarray((archs == 3).mean(1), jnp.float32)
    mask = jnp.arange(capacity) < live
    return surrogates.TrainingSet(adjacency, features, targets, mask)


@functools.lru_cache
def _fit(loss, pairing, epochs, lr=3e-3):
    config = surrogates.FitConfig(
        loss=loss,
        pairing=pairing,
        batch_size=8,
        chunk=4,
        epochs=epochs,
        learning_rate=lr,
        patience=0,
    )
    model = surrogates.Predictor(head=config.head, hidden=16, num_layers=2, dropout=0.0)
    return (
        model,
        config,
        jax.jit(
            lambda params, key, data, epochs: surrogates.fit(
                model, params, key, data, config, epochs=epochs
            )
        ),
    )


@pytest.mark.parametrize(
    "loss, pairing",
    [("brp", "pairs"), ("brp", "groups"), ("l1", "groups"), ("hinge", "groups")],
)
def test_fit_lowers_the_loss_and_ignores_padding(nb201_space, loss, pairing):
    data = _toy_set(nb201_space)
    model, config, fit = _fit(loss, pairing, 30)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])
    result = fit(params, jax.random.key(1), data, 30)
    before = surrogates.evaluate_loss(model, config, params, data)
    after = surrogates.evaluate_loss(model, config, result.params, data)
    assert after < 0.5 * before
    assert int(result.epochs_run) == 30
    np.testing.assert_allclose(result.best_loss, np.nanmin(result.monitored), 1e-6)
    # Padded slots' targets never matter.
    scrambled = data._replace(targets=data.targets.at[16:].set(99.0))
    again = fit(params, jax.random.key(1), scrambled, 30)
    jax.tree.map(np.testing.assert_allclose, again.params, result.params)


def test_traced_epochs_serve_one_program(nb201_space):
    data = _toy_set(nb201_space)
    model, _, fit = _fit("brp", "pairs", 6)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])
    short = fit(params, jax.random.key(1), data, 2)
    assert int(short.epochs_run) == 2
    assert np.isnan(np.asarray(short.monitored)[2:]).all()
    fit(params, jax.random.key(1), data, 6)
    assert fit._cache_size() == 1


def test_traced_learning_rate_and_weight_decay_equal_the_config(nb201_space):
    data = _toy_set(nb201_space)
    model, config, _ = _fit("l1", "groups", 3)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])

    @jax.jit
    def fit(learning_rate, weight_decay):
        return surrogates.fit(
            model,
            params,
            jax.random.key(1),
            data,
            config,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
        )

    rates = jnp.float32(config.learning_rate), jnp.float32(config.weight_decay)
    traced = fit(*rates)
    static = surrogates.fit(model, params, jax.random.key(1), data, config)
    jax.tree.map(np.testing.assert_allclose, traced.params, static.params)
    frozen = fit(jnp.float32(0.0), jnp.float32(0.0)).params  # no step moves them
    jax.tree.map(np.testing.assert_array_equal, frozen, params)


def test_early_stopping_counts_as_eagle(nb201_space):
    data = _toy_set(nb201_space)
    config = surrogates.FitConfig(
        loss="brp", batch_size=8, epochs=40, learning_rate=0.0, patience=5, es_after=3
    )
    model = surrogates.Predictor(head="binary", hidden=8, num_layers=2)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])
    result = surrogates.fit(model, params, jax.random.key(1), data, config)
    # Epoch 4 sets the bar, epochs 5..9 fail to beat it: stop after epoch 9.
    assert int(result.epochs_run) == 3 + 5 + 2


def test_head_only_training_freezes_the_gcn(nb201_space):
    data = _toy_set(nb201_space)
    config = surrogates.FitConfig(
        loss="l1", pairing="groups", batch_size=8, epochs=3, head_only=True
    )
    model = surrogates.Predictor(head="unary", hidden=8, num_layers=2)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])
    result = surrogates.fit(model, params, jax.random.key(1), data, config)
    jax.tree.map(
        np.testing.assert_array_equal,
        result.params["params"]["gcn"],
        params["params"]["gcn"],
    )
    assert not np.allclose(
        result.params["params"]["out"]["kernel"], params["params"]["out"]["kernel"]
    )


@pytest.mark.parametrize(
    "options, message",
    [
        ({"loss": "nope"}, "unknown loss"),
        ({"pairing": "pairs", "loss": "l1"}, "needs a pairwise loss"),
        ({"schedule": "step"}, "unknown schedule"),
        ({"batch_size": 0}, "must be positive"),
    ],
)
def test_bad_fit_config_raises(options, message):
    with pytest.raises(ValueError, match=message):
        surrogates.FitConfig(**options)


def test_wrong_head_for_the_loss_raises(nb201_space):
    data = _toy_set(nb201_space)
    model = surrogates.Predictor(head="unary", hidden=8, num_layers=2)
    params = surrogates.init_params(model, jax.random.key(0), *[x[0] for x in data[:2]])
    with pytest.raises(ValueError, match="binary head"):
        surrogates.fit(model, params, jax.random.key(0), data, surrogates.FitConfig())
