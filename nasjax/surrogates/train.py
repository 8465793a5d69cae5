"""One predictor from a list of measured architectures: train, predict, evaluate.

The entry point behind ``nasjax predict`` and the experiments: :func:`train_predictor`
normalises the values, builds the GCN inputs, and runs :func:`~nasjax.surrogates.fit`
with a preset (``"brp"``: BRP-NAS's binary predictor; ``"latency"``: its unary latency
predictor; ``"unary"``: the unary accuracy predictor), in the reference's batching
(``mode="faithful"``) or the fast one (``mode="fast"``). :func:`predict` scores any
architectures; :func:`evaluate` reports the predictor metrics.

Shape letters: ``T`` training models, ``A`` architectures scored.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from nasjax import metrics
from nasjax.surrogates.fit import FitConfig, TrainingSet, fit
from nasjax.surrogates.gcn import Predictor, graph_inputs, init_params, scores

PRESETS = ("brp", "unary", "latency")
MODES = ("faithful", "fast")
TOLERANCES = (0.01, 0.05, 0.10, 0.20)


class TrainedPredictor(NamedTuple):
    """A trained predictor and how its outputs map back to values."""

    model: Predictor
    params: dict
    offset: float  # value = offset + scale * unary output
    scale: float
    epochs_run: int


def preset(
    name: str,
    mode: str = "faithful",
    *,
    batch_size: int | None = None,
    hidden: int = 600,
):
    """``(model, FitConfig)`` of a BRP-NAS predictor.

    ``"brp"``: binary head, KL pairwise loss, eagle's non-iterative config (250
    epochs, 64 pairs a step, cosine, AdamW 3.5e-4 / 5e-4, dropout 0.2). ``"unary"``:
    the same GCN with an L1 head, 50 models a step. ``"latency"``: unary L1, dropout
    0.002, lr 4e-4, plateau schedule, batch 1 (the reference's). Fast mode batches
    models (each embedded once a step, all pairs of a step scored) and monitors the
    training loss instead of an extra eval pass.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown predictor {name!r}; choose from {PRESETS}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
    fast = mode == "fast"
    if name == "brp":
        model = Predictor(head="binary", hidden=hidden)
        config = FitConfig(
            loss="brp",
            pairing="groups" if fast else "pairs",
            batch_size=batch_size or (20 if fast else 64),
            chunk=0 if fast else 16,
            monitor="train" if fast else "eval",
        )
    elif name == "unary":
        model = Predictor(head="unary", hidden=hidden)
        config = FitConfig(
            loss="l1",
            pairing="groups",
            batch_size=batch_size or 50,
            monitor="train" if fast else "eval",
        )
    else:
        model = Predictor(head="unary", hidden=hidden, dropout=0.002)
        config = FitConfig(
            loss="l1",
            pairing="groups",
            batch_size=batch_size or (32 if fast else 1),
            learning_rate=4e-4,
            schedule="plateau",
            monitor="train" if fast else "eval",
        )
    return model, config


def _normalise(values: np.ndarray, percent: bool) -> tuple[float, float]:
    if percent:
        return 0.0, 100.0
    low, high = float(np.min(values)), float(np.max(values))
    return low, max(high - low, 1e-12)


def train_predictor(
    space,
    archs: Int[Array, "T S"],
    values: Float[Array, "T"],
    key: PRNGKeyArray,
    *,
    predictor: str = "brp",
    mode: str = "faithful",
    epochs: int | None = None,
    batch_size: int | None = None,
    percent: bool = False,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    init_from: dict | None = None,
    warmup_epochs: int = 0,
    hidden: int = 600,
) -> TrainedPredictor:
    """Trains a predictor of ``values`` (higher = better for ``"brp"``). Host-side.

    Args:
        space: the search space of ``archs``.
        archs: ``[T, S]`` training architectures.
        values: ``[T]`` their measured values (NaN rows are dropped).
        key: PRNG key (initialisation, shuffling, dropout).
        predictor: a :data:`PRESETS` name.
        mode: ``"faithful"`` or ``"fast"``.
        epochs: override the preset's 250.
        batch_size: override the preset's step size.
        percent: values are percentages: divide by 100 (BRP-NAS's accuracies in
            ``[0, 1]``) instead of min-max normalising over the training set.
        validation: ``(archs, values)`` monitored for the schedule, early stopping and
            the best-weights restore (eagle's latency predictor holds out 100).
        init_from: parameters of another predictor of the same GCN: all but the last
            layer are copied (BRP-NAS's latency -> accuracy transfer).
        warmup_epochs: with ``init_from``, first train the last layer alone this long.
        hidden: the GCN's width (BRP-NAS: 600).

    Returns:
        A :class:`TrainedPredictor`.
    """
    archs = np.asarray(archs, np.int32)
    values = np.asarray(values, np.float64)
    known = np.isfinite(values)
    archs, values = archs[known], values[known]
    if len(values) < 2:
        raise ValueError(
            f"need at least 2 architectures with values, got {len(values)}"
        )
    model, config = preset(predictor, mode, batch_size=batch_size, hidden=hidden)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    offset, scale = _normalise(values, percent)

    def training_set(archs, values):
        adjacency, features = graph_inputs(space, archs)
        targets = jnp.asarray((values - offset) / scale, jnp.float32)
        return TrainingSet(adjacency, features, targets, jnp.ones(len(values), bool))

    data = training_set(archs, values)
    held_out = None if validation is None else training_set(*validation)
    key_init, key_fit, key_warm = jax.random.split(key, 3)
    params = init_params(model, key_init, data.adjacency[0], data.features[0])
    if init_from is not None:
        params = {"params": {**init_from["params"], "out": params["params"]["out"]}}
        if warmup_epochs:
            warm = dataclasses.replace(
                config,
                epochs=warmup_epochs,
                weight_decay=0.0,
                schedule="constant",
                patience=0,
                restore_best=False,
                head_only=True,
            )
            params = jax.jit(
                lambda p, k: fit(model, p, k, data, warm, validation=held_out)
            )(params, key_warm).params
    result = jax.jit(lambda p, k: fit(model, p, k, data, config, validation=held_out))(
        params, key_fit
    )
    return TrainedPredictor(model, result.params, offset, scale, int(result.epochs_run))


def predict(
    trained: TrainedPredictor, space, archs: Int[Array, "A S"], *, chunk: int = 4096
) -> Float[np.ndarray, "A"]:
    """Predicted values (unary) or scores (binary; they grow with the value)."""
    model, params = trained.model, trained.params

    @jax.jit
    def score(chunk_archs):
        embeddings = model.apply(params, *graph_inputs(space, chunk_archs))
        if model.head == "binary":
            return scores(params, embeddings)
        output = model.apply(params, embeddings, method=Predictor.unary)
        return trained.offset + trained.scale * output

    archs = np.asarray(archs, np.int32)
    pad = -len(archs) % chunk
    padded = np.concatenate([archs, np.repeat(archs[:1], pad, 0)]) if pad else archs
    parts = [
        np.asarray(score(padded[i : i + chunk])) for i in range(0, len(padded), chunk)
    ]
    return np.concatenate(parts)[: len(archs)]


def evaluate(
    predicted: np.ndarray,
    true: np.ndarray,
    *,
    higher_is_better: bool,
    values_predicted: bool,
    top_k: tuple[int, ...] = (10, 50),
) -> dict[str, float]:
    """Predictor metrics over the given entries (NaN truths are skipped).

    ``predicted`` grows with the value (a unary prediction, or a binary head's score
    trained on the same column). Kendall tau, Spearman rho, precision of the top-k and
    the regret of the predicted best (the best true value minus the true value of the
    predicted best, in the column's units, >= 0); with value predictions also the
    share within +-1/5/10/20% (true value within that much of the prediction).
    """
    predicted = np.asarray(predicted, np.float32)
    true = np.asarray(true, np.float32)
    ok = np.isfinite(true) & np.isfinite(predicted)
    sign = 1.0 if higher_is_better else -1.0  # goodness = sign * value
    out = {
        "count": int(ok.sum()),
        "kendall_tau": float(metrics.kendall_tau(predicted, true, ok)),
        "spearman_rho": float(metrics.spearman_rho(predicted, true, ok)),
        "regret_at_1": float(metrics.regret_at_k(sign * predicted, sign * true, 1, ok)),
    }
    for k in top_k:
        out[f"precision_at_{k}"] = float(
            metrics.precision_at_k(sign * predicted, sign * true, k, ok)
        )
    if values_predicted:
        for tolerance in TOLERANCES:
            share = metrics.within_tolerance(predicted, true, tolerance, ok)
            out[f"within_{round(tolerance * 100)}pct"] = float(share)
    return out
