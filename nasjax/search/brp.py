"""BRP-NAS search (Dudziak et al., NeurIPS 2020) as an ask/tell strategy.

A GCN predictor is trained on the models queried so far and picks the next ones:
``budget`` models in ``iterations`` rounds of ``budget / iterations``. Round 0 is
random; round ``i`` asks the ``alpha`` share of the round from the top-predicted
models not yet queried and the rest at random from the top ``1 / 2^i`` of the
predicted ranking. Each ``tell`` trains the predictor on everything queried so far:
weights carry over, AdamW starts afresh with a cosine schedule over
``(i + 1) 250 / iterations`` epochs and batches of ``(i + 1) 64 / iterations`` pairs,
early stopping (patience 35) restores the best weights (eagle's ``sample_best2``
iterative training).

``mode="faithful"`` trains as the reference does (batches of ordered pairs, each
model of a pair embedded with its own dropout); ``mode="fast"`` embeds every model of
a step once and scores all pairs among them (see :mod:`nasjax.surrogates.fit`).

The candidates are every architecture of the space when it has at most
``max_candidates`` (NAS-Bench-201: all 15,625, embedded once per round), else a
random pool of ``pool_size`` drawn per seed at ``init`` (NAS-Bench-101, FBNet).
Everything is fixed-shape, so a trial is one program inside :func:`run` and seeds
vmap.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from nasjax import surrogates
from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace

MODES = ("faithful", "fast")
# One compilation per space however many strategies are built.
_graph_inputs = jax.jit(surrogates.graph_inputs, static_argnums=0)


class BRPState(NamedTuple):
    params: dict  # the predictor's parameters
    key: Array  # raw key data for training (tell has no key argument)
    pool: Int[Array, "C S"]  # candidate architectures ([0, S] when static)
    queried: Bool[Array, "C"]  # candidates asked so far
    pending: Int[Array, "B"]  # pool indices of the last ask
    archs: Int[Array, "T S"]  # trained models, padded to the budget
    targets: Float[Array, "T"]  # their normalised values (higher is better)
    live: Bool[Array, "T"]  # which slots hold a model with a known value
    count: Int[Array, ""]  # slots used
    iteration: Int[Array, ""]  # rounds told


class BRPParams(NamedTuple):
    value_scale: float | Array  # told fitness x -value_scale = training targets


@dataclasses.dataclass(frozen=True)
class BRPSettings(Settings):
    """BRP-NAS's settings; ``value_scale`` is traced (:class:`BRPParams`).

    Attributes:
        mode: ``"faithful"`` (the reference's pair batches) or ``"fast"`` (each model
            embedded once per step, all pairs of a step scored).
        budget: models to query (asks stop after it); ``budget / iterations`` a round.
        iterations: rounds of training and selection.
        alpha: share of a round taken from the top predictions (the rest at random
            from the top ``1 / 2^i``); 0 = random within the shrinking top.
        loss: ``"brp"`` (binary relation, the paper's), or a unary predictor's
            ``"l1"``/``"mse"``, or pairwise ``"hinge"``/``"logistic"`` on a unary head.
        value_scale: told fitness is negated and multiplied by this to make the
            targets (0.01: accuracies in percent -> [0, 1], as BRP-NAS).
        hidden, num_layers, dropout: the GCN (BRP-NAS: 600, 4, 0.2).
        fit_final: also train after the last round (the final predictor; a search
            that only needs the queried models can skip it: ~55% of the arithmetic).
        epochs, batch_pairs: eagle's totals (250, 64); round ``i`` of ``R`` trains
            ``(i + 1) epochs / R`` epochs on batches of ``(i + 1) batch_pairs / R``
            pairs (faithful mode; fast mode keeps ``fast_group`` models a step).
        max_candidates: rank the whole space when it has at most this many
            architectures, else a random pool of ``pool_size`` per seed.
        fast_group: models per step in fast mode.
        fast_epochs_factor: fast mode runs this many times the reference's epochs.
    """

    Params = BRPParams
    mode: str = "faithful"
    budget: int = 100
    iterations: int = 5
    alpha: float = 0.5
    loss: str = "brp"
    value_scale: float = 0.01
    hidden: int = 600
    num_layers: int = 4
    dropout: float = 0.2
    fit_final: bool = True
    epochs: int = 250
    batch_pairs: int = 64
    max_candidates: int = 2**16
    pool_size: int = 10_000
    fast_group: int = 20
    fast_epochs_factor: int = 1

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown BRP mode {self.mode!r}; choose from {MODES}")
        if self.iterations < 1 or self.budget % self.iterations:
            raise ValueError(
                f"budget ({self.budget}) must be a positive multiple of iterations "
                f"({self.iterations})"
            )
        if min(self.epochs, self.batch_pairs, self.hidden, self.num_layers) < 1:
            raise ValueError("epochs, batch_pairs, hidden and num_layers must be >= 1")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if self.loss not in ("brp", "l1", "mse", "hinge", "logistic"):
            raise ValueError(
                f"unknown loss {self.loss!r}; choose from brp, l1, mse, hinge, logistic"
            )

    @property
    def per_round(self) -> int:
        return self.budget // self.iterations

    def fit_config(self) -> surrogates.FitConfig:
        """The training settings at their largest (the last round's)."""
        epochs = max(self.epochs // self.iterations, 1) * self.iterations
        if self.mode == "faithful" and self.loss in ("brp", "hinge", "logistic"):
            batch = max(self.batch_pairs // self.iterations, 1)
            return surrogates.FitConfig(
                loss=self.loss,
                pairing="pairs",
                batch_size=batch * self.iterations,
                chunk=batch,
                epochs=epochs,
            )
        fast = self.mode == "fast"
        return surrogates.FitConfig(
            loss=self.loss,
            pairing="groups",
            batch_size=min(self.fast_group if fast else 50, self.budget),
            epochs=epochs * (self.fast_epochs_factor if fast else 1),
            monitor="train" if fast else "eval",
        )

    def round_schedule(self, iteration):
        """``(epochs, batch size)`` of round ``iteration`` (0-based; traced ok)."""
        config = self.fit_config()
        epochs = (config.epochs // self.iterations) * (iteration + 1)
        if config.pairing == "pairs":
            return epochs, (config.batch_size // self.iterations) * (iteration + 1)
        return epochs, config.batch_size


def brp(space: SearchSpace, **options) -> Strategy:
    """BRP-NAS's predictor-guided search: ``init/ask/tell`` over a GCN predictor.

    Args:
        space: the search space.
        **options: the fields of :class:`BRPSettings`.

    Returns:
        A :class:`~nasjax.search.Strategy` asking ``budget / iterations`` models a
        round.
    """
    settings = configure(BRPSettings, "brp", options)
    budget, max_candidates, pool_size = (
        settings.budget,
        settings.max_candidates,
        settings.pool_size,
    )
    config = settings.fit_config()
    model = surrogates.Predictor(
        head=config.head,
        hidden=settings.hidden,
        num_layers=settings.num_layers,
        dropout=settings.dropout,
    )
    per_round = settings.per_round
    num_top = int(round(settings.alpha * per_round))
    static_pool = space.size <= max_candidates
    if static_pool:
        pool_archs = np.asarray(space.enumerate(), np.int32)
        pool_inputs = jax.tree.map(np.asarray, _graph_inputs(space, pool_archs))
        num_candidates = pool_archs.shape[0]
    else:
        num_candidates = pool_size
    rank_chunk = min(num_candidates, 2048)
    if num_candidates < budget:
        raise ValueError(
            f"{num_candidates} candidates cannot supply a budget of {budget} models"
        )
    example = jax.tree.map(
        lambda x: x[0],
        surrogates.graph_inputs(space, jnp.zeros((1, space.num_slots), jnp.int32)),
    )

    def candidate_archs(state: BRPState) -> Int[Array, "C S"]:
        return jnp.asarray(pool_archs) if static_pool else state.pool

    def candidate_inputs(state: BRPState):
        if static_pool:
            return tuple(map(jnp.asarray, pool_inputs))
        return surrogates.graph_inputs(space, state.pool)

    def init(key: PRNGKeyArray, params: BRPParams) -> BRPState:
        del params
        key_params, key_train, key_pool = jax.random.split(key, 3)
        if static_pool:
            pool = jnp.zeros((0, space.num_slots), jnp.int32)
        else:
            pool = space.sample(key_pool, pool_size)
        return BRPState(
            params=surrogates.init_params(model, key_params, *example),
            key=jax.random.key_data(key_train),
            pool=pool,
            queried=jnp.zeros((num_candidates,), bool),
            pending=jnp.zeros((per_round,), jnp.int32),
            archs=jnp.zeros((budget, space.num_slots), jnp.int32),
            targets=jnp.zeros((budget,), jnp.float32),
            live=jnp.zeros((budget,), bool),
            count=jnp.int32(0),
            iteration=jnp.int32(0),
        )

    def predicted_scores(state: BRPState, inputs) -> Float[Array, "C"]:
        """Scores of every candidate, ``rank_chunk`` at a time (bounded memory)."""

        def score_chunk(chunk_inputs):
            embeddings = model.apply(state.params, *chunk_inputs)
            if config.head == "binary":
                return surrogates.scores(state.params, embeddings)
            return model.apply(
                state.params, embeddings, method=surrogates.Predictor.unary
            )

        pad = -num_candidates % rank_chunk
        chunks = jax.tree.map(
            lambda x: jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(
                -1, rank_chunk, *x.shape[1:]
            ),
            inputs,
        )
        return jax.lax.map(score_chunk, chunks).reshape(-1)[:num_candidates]

    def ask(key: PRNGKeyArray, state: BRPState, params: BRPParams):
        del params
        score = predicted_scores(state, candidate_inputs(state))
        open_ = ~state.queried
        # Round 0 (and an untrained predictor): uniform over the open candidates.
        first_round = state.iteration == 0
        top_score = jnp.where(open_ & ~first_round, score, -jnp.inf)
        _, top = jax.lax.top_k(top_score, max(num_top, 1))
        top = top[:num_top]
        remaining = open_.at[top].set(first_round & open_[top])
        # The top 1 / 2^i of the predicted ranking, as eagle's random_th.
        share = num_candidates // (2 ** jnp.minimum(state.iteration, 30))
        threshold = jnp.sort(score)[::-1][jnp.clip(share, 0, num_candidates - 1)]
        eligible = remaining & (first_round | (score > threshold))
        eligible = jnp.where(jnp.any(eligible), eligible, remaining)  # all tied
        draw = jax.random.uniform(key, (num_candidates,))
        num_random = per_round - num_top
        random_draw = jnp.where(eligible, draw, -1.0)
        _, random_pick = jax.lax.top_k(random_draw, per_round)
        picks = jnp.where(
            first_round,
            random_pick,
            jnp.concatenate([top, random_pick[:num_random]]),
        )
        return candidate_archs(state)[picks], state._replace(
            pending=picks.astype(jnp.int32)
        )

    def tell(state: BRPState, archs, fitness, params: BRPParams):
        del archs  # the pool indices of the ask are in state.pending
        known = jnp.isfinite(fitness)
        slots = state.count + jnp.arange(per_round)
        in_budget = slots < budget
        slots = jnp.where(in_budget, slots, budget)  # dropped by mode="drop"
        targets = -fitness * params.value_scale
        new_state = state._replace(
            queried=state.queried.at[state.pending].set(True),
            archs=state.archs.at[slots].set(
                candidate_archs(state)[state.pending], mode="drop"
            ),
            targets=state.targets.at[slots].set(
                jnp.where(known, targets, 0.0), mode="drop"
            ),
            live=state.live.at[slots].set(known & in_budget, mode="drop"),
            count=jnp.minimum(state.count + per_round, budget),
        )
        epochs, batch = settings.round_schedule(state.iteration)
        done = new_state.count >= budget
        epochs = jnp.where(done & (not settings.fit_final), 0, epochs)
        trained_inputs = surrogates.graph_inputs(space, new_state.archs)
        data = surrogates.TrainingSet(
            *trained_inputs, new_state.targets, new_state.live
        )
        key, key_fit = jax.random.split(jax.random.wrap_key_data(state.key))
        result = surrogates.fit(
            model, state.params, key_fit, data, config, epochs=epochs, batch_size=batch
        )
        return new_state._replace(
            params=result.params,
            key=jax.random.key_data(key),
            iteration=state.iteration + 1,
        )

    return Strategy(
        init, ask, tell, per_round, "brp", 1, settings.params(), settings, space
    )
