"""Training a :class:`~nasjax.surrogates.gcn.Predictor`: one jitted program, masks for
every size.

:func:`fit` runs the epochs as a ``lax.while_loop`` (it stops early) and each epoch's
steps as ``fori_loop``s whose trip counts are traced: the training set is padded to a
capacity ``T`` with a mask, and the epoch count and batch size may be traced too, so
one compiled program serves every iteration of BRP-NAS's schedule (and ``vmap`` runs
seeds or ensembles side by side).

Two ways to batch (``FitConfig.pairing``):

* ``"pairs"`` (the reference): a step takes ``batch_size`` ordered pairs ``i != j``
  of training models, shuffled each epoch; both models of every pair go through the
  GCN with their own dropout masks. Steps are cut into chunks of ``chunk`` pairs whose
  gradients are summed (the same update, so one static chunk shape serves every batch
  size).
* ``"groups"`` (the fast design): a step takes ``batch_size`` models, embeds each
  once and scores every ordered pair among them with the linear head, so a step sees
  ``batch_size (batch_size - 1)`` pairs for ``batch_size`` GCN passes. Regression
  losses use this mode with a per-model loss.

After each epoch the monitored loss (the validation set's when one is given, else the
training set's, in eval mode: each model embedded once) drives the schedule, early
stopping (after ``es_after`` epochs, as eagle) and the best-weights restore.

Shape letters: ``T`` training capacity, ``N`` nodes, ``F`` features.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from nasjax.surrogates import losses
from nasjax.surrogates.gcn import Predictor, pair_margins

PAIRINGS = ("pairs", "groups")
SCHEDULES = ("cosine", "plateau", "constant")


class TrainingSet(NamedTuple):
    """Models padded to a capacity ``T``; ``mask`` marks the live ones."""

    adjacency: Float[Array, "T N N"]
    features: Float[Array, "T N F"]
    targets: Float[Array, "T"]  # normalised; higher = better for pairwise losses
    mask: Bool[Array, "T"]


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Static training settings (defaults: BRP-NAS's binary predictor, eagle's config).

    Attributes:
        loss: ``"brp"``, ``"hinge"``, ``"logistic"`` (pairwise) or ``"l1"``, ``"mse"``.
        pairing: ``"pairs"`` or ``"groups"`` (see the module docstring).
        batch_size: pairs (``"pairs"``) or models (``"groups"``) per step; the most a
            traced ``batch_size`` passed to :func:`fit` may ask for.
        chunk: pairs per gradient chunk in ``"pairs"`` mode (0: ``batch_size``).
        epochs: the most epochs (a traced ``epochs`` may ask for fewer).
        learning_rate, weight_decay: AdamW's.
        schedule: ``"cosine"`` (over the epochs run), ``"plateau"`` (times
            ``plateau_factor`` after ``plateau_patience`` epochs without a 1%
            improvement) or ``"constant"``.
        patience: early-stopping patience in epochs (0: off).
        es_after: epochs before early stopping and the plateau schedule start.
        restore_best: end with the weights of the epoch with the lowest monitored loss.
        head_only: train the output layer alone (BRP-NAS's transfer warm-up).
        monitor: ``"eval"`` (the reference: an extra eval-mode pass each epoch) or
            ``"train"`` (the epoch's summed step losses, free; fast mode).
    """

    loss: str = "brp"
    pairing: str = "pairs"
    batch_size: int = 64
    chunk: int = 0
    epochs: int = 250
    learning_rate: float = 3.5e-4
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    patience: int = 35
    es_after: int = 20
    restore_best: bool = True
    head_only: bool = False
    plateau_patience: int = 10
    plateau_factor: float = 0.5
    monitor: str = "eval"

    def __post_init__(self):
        if self.loss not in losses.PAIRWISE and self.loss not in losses.REGRESSION:
            known = sorted({*losses.PAIRWISE, *losses.REGRESSION})
            raise ValueError(f"unknown loss {self.loss!r}; choose from {known}")
        if self.pairing not in PAIRINGS:
            raise ValueError(
                f"unknown pairing {self.pairing!r}; choose from {PAIRINGS}"
            )
        if self.pairing == "pairs" and self.loss not in losses.PAIRWISE:
            raise ValueError(
                f"pairing 'pairs' needs a pairwise loss, not {self.loss!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}"
            )
        if self.monitor not in ("eval", "train"):
            raise ValueError(f"monitor must be 'eval' or 'train', not {self.monitor!r}")
        if min(self.batch_size, self.epochs) < 1 or self.chunk < 0:
            raise ValueError("batch_size and epochs must be positive, chunk >= 0")

    @property
    def pairwise(self) -> bool:
        return self.loss in losses.PAIRWISE

    @property
    def head(self) -> str:
        """The head this loss trains: ``"binary"`` for BRP's loss, else ``"unary"``."""
        return "binary" if self.loss == "brp" else "unary"


class FitResult(NamedTuple):
    params: dict
    monitored: Float[Array, "E"]  # monitored loss per epoch (NaN after the last)
    epochs_run: Int[Array, ""]
    best_loss: Float[Array, ""]


class _Epoch(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: PRNGKeyArray
    epoch: Int[Array, ""]
    stopped: Bool[Array, ""]
    best_params: dict
    best_loss: Float[Array, ""]
    es_best: Float[Array, ""]
    es_bad: Int[Array, ""]
    lr_scale: Float[Array, ""]
    plateau_best: Float[Array, ""]
    plateau_bad: Int[Array, ""]
    monitored: Float[Array, "E"]


def _margins(model: Predictor, params, first, second):
    """Score differences ``[B, C]`` of every pair (first_b, second_c)."""
    if model.head == "binary":
        return pair_margins(params, first, second)
    values_first = model.apply(params, first, method=Predictor.unary)
    values_second = model.apply(params, second, method=Predictor.unary)
    return values_first[:, None] - values_second[None, :]


def _group_loss(model, config, params, embeddings, targets, valid):
    """Loss of a group of models: per model (regression) or over all ordered pairs."""
    if not config.pairwise:
        predicted = model.apply(params, embeddings, method=Predictor.unary)
        return losses.REGRESSION[config.loss](predicted, targets, valid)
    margins = _margins(model, params, embeddings, embeddings)
    size = targets.shape[0]
    pair_mask = valid[:, None] & valid[None, :] & ~jnp.eye(size, dtype=bool)
    return losses.PAIRWISE[config.loss](
        margins, targets[:, None], targets[None, :], pair_mask
    )


def evaluate_loss(
    model: Predictor, config: FitConfig, params, data: TrainingSet
) -> Float[Array, ""]:
    """The monitored loss in eval mode: per model (regression) or per ordered pair."""
    embeddings = model.apply(params, data.adjacency, data.features)
    total = _group_loss(model, config, params, embeddings, data.targets, data.mask)
    count = jnp.sum(data.mask).astype(jnp.float32)
    if config.pairwise:
        count = count * (count - 1)
    return total / jnp.maximum(count, 1.0)


def _optimizer(learning_rate, weight_decay, params):
    adamw = optax.inject_hyperparams(optax.adamw)(
        learning_rate=learning_rate, weight_decay=weight_decay
    )
    return adamw, adamw.init(params)


def _trainable(config: FitConfig, params):
    """1 for parameters to update, 0 for frozen ones (the GCN in head-only mode)."""
    if not config.head_only:
        return None
    return {
        "params": {
            name: jax.tree.map(lambda _, v=float(name == "out"): v, tree)
            for name, tree in params["params"].items()
        }
    }


def fit(
    model: Predictor,
    params: dict,
    key: PRNGKeyArray,
    data: TrainingSet,
    config: FitConfig,
    *,
    epochs: Int[Array, ""] | int | None = None,
    batch_size: Int[Array, ""] | int | None = None,
    validation: TrainingSet | None = None,
    learning_rate: Float[Array, ""] | float | None = None,
    weight_decay: Float[Array, ""] | float | None = None,
) -> FitResult:
    """Trains ``params`` on the live models of ``data``. Jittable, vmappable.

    Args:
        model: the predictor (its head must be ``config.head``).
        params: initial parameters (a fresh AdamW state is made here).
        key: PRNG key for shuffling and dropout.
        data: the training set, padded to its capacity ``T``.
        config: static settings.
        epochs: epochs to run (traced allowed; at most ``config.epochs``).
        batch_size: pairs or models per step (traced allowed; at most
            ``config.batch_size``).
        validation: monitored instead of the training loss when given.
        learning_rate, weight_decay: AdamW's (traced allowed; default the config's).

    Returns:
        :class:`FitResult` with the final (or best, see ``restore_best``) params.
    """
    if model.head != config.head:
        raise ValueError(f"loss {config.loss!r} trains a {config.head} head")
    epochs = config.epochs if epochs is None else jnp.minimum(epochs, config.epochs)
    batch = (
        config.batch_size
        if batch_size is None
        else jnp.minimum(batch_size, config.batch_size)
    )
    epochs = jnp.asarray(epochs, jnp.int32)
    batch = jnp.asarray(batch, jnp.int32)
    base_rate = config.learning_rate if learning_rate is None else learning_rate
    decay = config.weight_decay if weight_decay is None else weight_decay
    optimizer, opt_state = _optimizer(base_rate, decay, params)
    trainable = _trainable(config, params)
    capacity = data.mask.shape[0]
    num_live = jnp.sum(data.mask).astype(jnp.int32)

    def apply_gradients(params, opt_state, grads, learning_rate):
        opt_state.hyperparams["learning_rate"] = learning_rate
        updates, opt_state = optimizer.update(grads, opt_state, params)
        if trainable is not None:
            updates = jax.tree.map(jnp.multiply, updates, trainable)
        return optax.apply_updates(params, updates), opt_state

    def embed(params, key, rows):
        return model.apply(
            params,
            data.adjacency[rows],
            data.features[rows],
            train=True,
            rngs={"dropout": key},
        )

    # ------------------------------------------------------------ "pairs" epochs
    chunk = config.chunk or config.batch_size
    live_pairs = (
        data.mask[:, None] & data.mask[None, :] & ~jnp.eye(capacity, dtype=bool)
    ).reshape(-1)
    num_pairs = num_live * (num_live - 1)

    def pair_chunk_loss(params, key, pairs, valid):
        first, second = pairs // capacity, pairs % capacity
        embeddings = embed(params, key, jnp.concatenate([first, second]))
        margin = model.apply(
            params,
            embeddings[:chunk],
            embeddings[chunk:],
            method=Predictor.pair_logits,
        )
        margin = margin[:, 0] - margin[:, 1]
        return losses.PAIRWISE[config.loss](
            margin, data.targets[first], data.targets[second], valid
        )

    def pairs_epoch(params, opt_state, key, learning_rate):
        key_order, key_steps = jax.random.split(key)
        draw = jax.random.uniform(key_order, live_pairs.shape)
        order = jnp.argsort(jnp.where(live_pairs, draw, 2.0)).astype(jnp.int32)
        order = jnp.pad(order, (0, config.batch_size + chunk))
        num_steps = (num_pairs + batch - 1) // batch
        num_chunks = (batch + chunk - 1) // chunk

        def step(index, carry):
            params, opt_state, total = carry
            step_key = jax.random.fold_in(key_steps, index)

            def accumulate(part, carry):
                loss_sum, grads = carry
                offset = part * chunk + jnp.arange(chunk)
                start = index * batch + part * chunk
                pairs = jax.lax.dynamic_slice(order, (start,), (chunk,))
                valid = (offset < batch) & (start - part * chunk + offset < num_pairs)
                loss, part_grads = jax.value_and_grad(pair_chunk_loss)(
                    params, jax.random.fold_in(step_key, part), pairs, valid
                )
                return loss_sum + loss, jax.tree.map(jnp.add, grads, part_grads)

            zeros = jax.tree.map(jnp.zeros_like, params)
            loss, grads = jax.lax.fori_loop(
                0, num_chunks, accumulate, (jnp.float32(0.0), zeros)
            )
            params, opt_state = apply_gradients(params, opt_state, grads, learning_rate)
            return params, opt_state, total + loss

        params, opt_state, total = jax.lax.fori_loop(
            0, num_steps, step, (params, opt_state, jnp.float32(0.0))
        )
        return params, opt_state, total / jnp.maximum(num_pairs, 1)

    # ----------------------------------------------------------- "groups" epochs
    def group_step_loss(params, key, rows, valid):
        embeddings = embed(params, key, rows)
        return _group_loss(model, config, params, embeddings, data.targets[rows], valid)

    def groups_epoch(params, opt_state, key, learning_rate):
        key_order, key_steps = jax.random.split(key)
        draw = jax.random.uniform(key_order, (capacity,))
        order = jnp.argsort(jnp.where(data.mask, draw, 2.0)).astype(jnp.int32)
        order = jnp.pad(order, (0, config.batch_size))
        num_steps = (num_live + batch - 1) // batch
        offset = jnp.arange(config.batch_size)

        def step(index, carry):
            params, opt_state, total = carry
            rows = jax.lax.dynamic_slice(order, (index * batch,), (config.batch_size,))
            valid = (offset < batch) & (index * batch + offset < num_live)
            loss, grads = jax.value_and_grad(group_step_loss)(
                params, jax.random.fold_in(key_steps, index), rows, valid
            )
            params, opt_state = apply_gradients(params, opt_state, grads, learning_rate)
            return params, opt_state, total + loss

        params, opt_state, total = jax.lax.fori_loop(
            0, num_steps, step, (params, opt_state, jnp.float32(0.0))
        )
        count = num_live.astype(jnp.float32)
        return params, opt_state, total / jnp.maximum(count, 1.0)

    run_epoch = pairs_epoch if config.pairing == "pairs" else groups_epoch
    monitored_set = data if validation is None else validation

    # ---------------------------------------------------------------- the loop
    def learning_rate(state: _Epoch):
        base = base_rate * state.lr_scale
        if config.schedule != "cosine":
            return base
        progress = state.epoch / jnp.maximum(epochs, 1)
        return base * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))

    def cond(state: _Epoch):
        return (state.epoch < epochs) & ~state.stopped

    def body(state: _Epoch) -> _Epoch:
        key, key_epoch = jax.random.split(state.key)
        params, opt_state, train_loss = run_epoch(
            state.params, state.opt_state, key_epoch, learning_rate(state)
        )
        if config.monitor == "train" and validation is None:
            loss = train_loss
        else:
            loss = evaluate_loss(model, config, params, monitored_set)
        improved = loss < state.best_loss
        best_params = jax.tree.map(
            lambda new, old: jnp.where(improved, new, old), params, state.best_params
        )
        watching = state.epoch > config.es_after
        # Early stopping (eagle's EarlyStopping: the first watched epoch sets the bar).
        es_better = loss < state.es_best
        es_bad = jnp.where(
            watching & jnp.isfinite(state.es_best) & ~es_better,
            state.es_bad + 1,
            jnp.where(watching, 0, state.es_bad),
        )
        es_best = jnp.where(watching & es_better, loss, state.es_best)
        stopped = (
            watching
            & jnp.isfinite(state.es_best)
            & ((config.patience > 0) & (es_bad >= config.patience) | jnp.isnan(loss))
        )
        # ReduceLROnPlateau(mode="min", threshold=0.01 relative, cooldown 0).
        lr_scale, plateau_best, plateau_bad = (
            state.lr_scale,
            state.plateau_best,
            state.plateau_bad,
        )
        if config.schedule == "plateau":
            better = loss < plateau_best * (1.0 - 0.01)
            plateau_bad = jnp.where(better, 0, plateau_bad + 1)
            plateau_best = jnp.where(better, loss, plateau_best)
            reduce = plateau_bad > config.plateau_patience
            lr_scale = jnp.where(
                watching & reduce, lr_scale * config.plateau_factor, lr_scale
            )
            plateau_bad = jnp.where(watching & reduce, 0, plateau_bad)
            plateau_best = jnp.where(watching, plateau_best, state.plateau_best)
            plateau_bad = jnp.where(watching, plateau_bad, state.plateau_bad)
        return _Epoch(
            params=params,
            opt_state=opt_state,
            key=key,
            epoch=state.epoch + 1,
            stopped=stopped,
            best_params=best_params,
            best_loss=jnp.where(improved, loss, state.best_loss),
            es_best=es_best,
            es_bad=es_bad,
            lr_scale=lr_scale,
            plateau_best=plateau_best,
            plateau_bad=plateau_bad,
            monitored=state.monitored.at[state.epoch].set(loss),
        )

    inf = jnp.float32(jnp.inf)
    start = _Epoch(
        params=params,
        opt_state=opt_state,
        key=key,
        epoch=jnp.int32(0),
        stopped=jnp.bool_(False),
        best_params=params,
        best_loss=inf,
        es_best=inf,
        es_bad=jnp.int32(0),
        lr_scale=jnp.float32(1.0),
        plateau_best=inf,
        plateau_bad=jnp.int32(0),
        monitored=jnp.full((config.epochs,), jnp.nan, jnp.float32),
    )
    end = jax.lax.while_loop(cond, body, start)
    final = end.best_params if config.restore_best else end.params
    return FitResult(final, end.monitored, end.epoch, end.best_loss)
