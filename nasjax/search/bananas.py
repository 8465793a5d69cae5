"""BANANAS (White, Neiswanger and Savani, AAAI 2021) as an ask/tell strategy.

Bayesian optimisation with an ensemble of MLPs on the path encoding. The first
``num_init / batch_size`` rounds ask random models; every later ask trains a fresh
ensemble on the models queried so far, makes candidates by mutating the best of them,
scores the candidates with an acquisition function over the ensemble's predictions
and asks the ``batch_size`` best. The ensemble is trained inside ``ask`` (a pure,
fixed-shape program), so a whole trial is one compiled loop in
:func:`~nasjax.search.run` and seeds ``vmap``.

Defaults are naszilla's (``nas_algorithms.bananas`` and ``params.py``'s "standard"
meta neural net): 10 random models, then rounds of ``k = 10``; an ensemble of 5
feed-forward nets of 10 layers of width 20 (ReLU), trained from scratch each round
for 150 epochs on batches of 32 with Adam (lr 0.01, betas 0.9 / 0.99) on the mean
absolute error; independent Thompson sampling (each candidate's value drawn from a
normal with the ensemble's mean and standard deviation); 100 candidates mutated from
the best queried model (then the next best, up to 5, until 100 new ones are found),
each slot changed with probability ``1 / (S - 2)`` (NAS-Bench-201: 1/4; NAS-Bench-101
as naszilla: ops 1/5, edge bits 1/7); the path encoding truncated to its 30 shortest
paths (``trunc_path``; naszilla's NAS-Bench-201 default).

Differences: targets are the told fitness standardised over the training set
(naszilla fits raw validation error; fitness here may be in any unit); candidates are
deduplicated against the queried models by their encoding (naszilla by its hash); at
most ``capacity`` models are kept for training (beyond it a better model replaces the
worst).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from nasjax import encodings
from nasjax.encodings import path
from nasjax.search.strategy import (
    Settings,
    Strategy,
    configure,
    first_occurrence,
    seen_in,
)
from nasjax.spaces._base import SearchSpace

ENCODINGS = ("trunc_path", "path", "onehot", "graph")
ACQUISITIONS = ("its", "ucb", "mean")
UCB_FACTOR = 0.5  # naszilla's explore_factor


class BananasState(NamedTuple):
    archs: Int[Array, "T S"]  # queried models kept for training, padded
    fitness: Float[Array, "T"]  # their told fitness (minimised); +inf: empty
    live: Bool[Array, "T"]  # which slots hold a model
    step: Int[Array, ""]  # rounds told


# ------------------------------------------------------------- shared helpers
def slot_mutation_probabilities(space: SearchSpace) -> np.ndarray:
    """``[S]`` probability that a mutation changes each slot (naszilla's rates: the
    space's adapter's, else ``1 / (S - 2)``)."""
    found = encodings.find(space)
    if found is None:
        return np.full(space.num_slots, 1.0 / max(space.num_slots - 2, 1))
    return found.slot_rates()


def mutate_slots(
    space: SearchSpace,
    key: PRNGKeyArray,
    arch: Int[Array, "S"],
    probabilities: np.ndarray,
    *,
    tries: int = 8,
) -> Int[Array, "S"]:
    """Changes each slot with its probability to another value; a valid result.

    Draws ``tries`` mutations and returns the first valid one (``arch`` itself if
    none is). Jittable; vmap over ``(key, arch)``.
    """
    upper = jnp.asarray(space.num_choices, jnp.int32)

    def draw(key):
        key_which, key_shift = jax.random.split(key)
        change = jax.random.uniform(key_which, (space.num_slots,)) < probabilities
        shift = jnp.minimum(
            (jax.random.uniform(key_shift, (space.num_slots,)) * (upper - 1)).astype(
                jnp.int32
            )
            + 1,
            upper - 1,
        )
        return jnp.where(change, (arch + shift) % upper, arch)

    drawn = jax.vmap(draw)(jax.random.split(key, tries))
    valid = space.is_valid(drawn)
    return jnp.where(jnp.any(valid), drawn[jnp.argmax(valid)], arch)


def mutation_candidates(
    space: SearchSpace,
    key: PRNGKeyArray,
    archs: Int[Array, "T S"],
    fitness: Float[Array, "T"],
    live: Bool[Array, "T"],
    *,
    num_candidates: int,
    num_parents: int,
    patience: int = 5,
) -> tuple[Int[Array, "C S"], Bool[Array, "C"]]:
    """naszilla's ``get_candidates(acq_opt_type="mutation")``, fixed-shape.

    The ``num_parents * patience`` best live models each get
    ``num_candidates // num_parents`` mutations; a mutation is a candidate if it is
    valid, new (not among ``archs``) and its first occurrence, and its parent's block
    starts before ``num_candidates`` candidates were found. Jittable.

    Returns:
        ``(candidates [C, S], mask [C])`` with ``C = num_parents * patience *
        (num_candidates // num_parents)``.
    """
    per_parent = num_candidates // num_parents
    num_blocks = min(num_parents * patience, archs.shape[0])
    probabilities = slot_mutation_probabilities(space)
    ranked = jnp.argsort(jnp.where(live, fitness, jnp.inf))[:num_blocks]
    parents = jnp.repeat(archs[ranked], per_parent, axis=0)
    parent_live = jnp.repeat(live[ranked], per_parent)
    keys = jax.random.split(key, parents.shape[0])
    candidates = jax.vmap(lambda k, a: mutate_slots(space, k, a, probabilities))(
        keys, parents
    )
    new = (
        first_occurrence(candidates)
        & ~seen_in(candidates, archs, live)
        & parent_live
        & space.is_valid(candidates)
    )
    found_before = jnp.cumsum(new.reshape(num_blocks, per_parent).sum(axis=1))
    found_before = jnp.concatenate([jnp.zeros(1, found_before.dtype), found_before])
    block_open = jnp.repeat(found_before[:-1] < num_candidates, per_parent)
    return candidates, new & block_open


def record_models(state, archs: Int[Array, "B S"], fitness: Float[Array, "B"]):
    """Adds the told models with a finite fitness to ``state`` (archs, fitness, live).

    A model already kept is skipped; when every slot is taken a better model
    replaces the worst. Jittable.
    """

    def add(kept, item):
        kept_archs, kept_fitness, kept_live = kept
        arch, value = item
        present = seen_in(arch[None], kept_archs, kept_live)[0]
        empty = jnp.argmin(kept_live)
        worst = jnp.argmax(jnp.where(kept_live, kept_fitness, -jnp.inf))
        full = jnp.all(kept_live)
        slot = jnp.where(full, worst, empty)
        keep = jnp.isfinite(value) & ~present & (~full | (value < kept_fitness[slot]))
        return (
            kept_archs.at[slot].set(jnp.where(keep, arch, kept_archs[slot])),
            kept_fitness.at[slot].set(jnp.where(keep, value, kept_fitness[slot])),
            kept_live.at[slot].set(kept_live[slot] | keep),
        ), None

    (kept_archs, kept_fitness, kept_live), _ = jax.lax.scan(
        add, (state.archs, state.fitness, state.live), (archs, fitness)
    )
    return state._replace(archs=kept_archs, fitness=kept_fitness, live=kept_live)


def predictor_guided(
    space: SearchSpace,
    acquire,
    *,
    capacity: int,
    random_rounds: int,
    batch_size: int,
    name: str,
    settings: Settings,
) -> Strategy:
    """The ask/tell of a predictor-guided strategy (BANANAS, NPENAS).

    ``ask`` draws random models for the first ``random_rounds`` rounds, then
    ``acquire(key, state, params) -> (archs [B, S], usable [B])`` (a random model
    where not ``usable``: too few candidates); ``tell`` keeps the told models (at
    most ``capacity``) for the next training.
    """

    def init(key, params):
        del key, params
        return BananasState(
            archs=jnp.zeros((capacity, space.num_slots), jnp.int32),
            fitness=jnp.full((capacity,), jnp.inf, jnp.float32),
            live=jnp.zeros((capacity,), bool),
            step=jnp.int32(0),
        )

    def ask(key, state: BananasState, params):
        key_random, key_acquire = jax.random.split(key)
        random_archs = space.sample(key_random, batch_size)

        def guided(_):
            archs, usable = acquire(key_acquire, state, params)
            return jnp.where(usable[:, None], archs, random_archs)  # too few: random

        archs = jax.lax.cond(
            state.step < random_rounds, lambda _: random_archs, guided, None
        )
        return archs, state

    def tell(state: BananasState, archs, fitness, params):
        del params
        chex.assert_shape(archs, (batch_size, space.num_slots))
        chex.assert_shape(fitness, (batch_size,))
        state = record_models(state, archs, fitness)
        return state._replace(step=state.step + 1)

    return Strategy(
        init, ask, tell, batch_size, name, 1, settings.params(), settings, space
    )


def standardise(values: Float[Array, "T"], mask: Bool[Array, "T"]) -> Float[Array, "T"]:
    """``(values - mean) / std`` over the masked entries (0 elsewhere)."""
    count = jnp.maximum(jnp.sum(mask), 1)
    mean = jnp.sum(jnp.where(mask, values, 0.0)) / count
    var = jnp.sum(jnp.where(mask, (values - mean) ** 2, 0.0)) / count
    return jnp.where(mask, (values - mean) / jnp.sqrt(var + 1e-12), 0.0)


# ------------------------------------------------------------------- the MLP
def _init_mlp(key, sizes: tuple[int, ...]) -> list[dict]:
    """Keras ``Dense`` defaults: Glorot-uniform kernels, zero biases."""
    params = []
    keys = jax.random.split(key, len(sizes) - 1)
    for layer_key, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:]):
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        kernel = jax.random.uniform(
            layer_key, (fan_in, fan_out), jnp.float32, -bound, bound
        )
        params.append({"kernel": kernel, "bias": jnp.zeros((fan_out,), jnp.float32)})
    return params


def _apply_mlp(params: list[dict], x: Float[Array, "B F"]) -> Float[Array, "B"]:
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["kernel"] + layer["bias"])
    return (x @ params[-1]["kernel"] + params[-1]["bias"])[..., 0]


class BananasParams(NamedTuple):
    learning_rate: float | Array  # each MLP's Adam step size


@dataclasses.dataclass(frozen=True)
class BananasSettings(Settings):
    """BANANAS's settings; ``learning_rate`` is traced (:class:`BananasParams`).

    Attributes:
        num_init: random models first (a multiple of ``batch_size``; naszilla: 10).
        batch_size: ``k``, models asked a round (naszilla: 10).
        num_ensemble: MLPs in the ensemble (5).
        num_layers, layer_width: hidden layers of each MLP (10 of width 20).
        epochs, train_batch, learning_rate: Adam training of each MLP from scratch
            every round on the mean absolute error (150, 32, 0.01).
        acquisition: ``"its"`` (independent Thompson sampling, the paper's),
            ``"ucb"`` (mean - 0.5 std, naszilla's) or ``"mean"``.
        encoding: ``"trunc_path"`` (the ``cutoff`` shortest paths), ``"path"``,
            ``"onehot"`` (every slot one-hot) or ``"graph"`` (the flattened dense
            GCN inputs of :func:`nasjax.surrogates.graph_inputs`); None (default):
            ``"trunc_path"`` where the space has a path encoding (NAS-Bench-201,
            NAS-Bench-101), else ``"onehot"``.
        cutoff: features kept by ``"trunc_path"`` (naszilla, NAS-Bench-201: 30).
        num_candidates: candidates scored a round (100).
        num_parents: best models mutated for them (naszilla's
            ``num_arches_to_mutate``: 1; the next best fill in up to 5x).
        capacity: models kept for training (naszilla keeps every query; beyond
            ``capacity`` a better model replaces the worst). Training costs what the
            models kept need, not the capacity.
    """

    Params = BananasParams

    num_init: int = 10
    batch_size: int = 10
    num_ensemble: int = 5
    num_layers: int = 10
    layer_width: int = 20
    epochs: int = 150
    train_batch: int = 32
    learning_rate: float = 0.01
    acquisition: str = "its"
    encoding: str | None = None
    cutoff: int = 30
    num_candidates: int = 100
    num_parents: int = 1
    capacity: int = 500

    def __post_init__(self):
        if self.acquisition not in ACQUISITIONS:
            raise ValueError(
                f"unknown acquisition {self.acquisition!r}; choose from {ACQUISITIONS}"
            )
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {self.encoding!r}; choose from {ENCODINGS}"
            )
        check_rounds(self.num_init, self.batch_size, self.capacity)
        if min(self.num_ensemble, self.num_layers, self.layer_width) < 1:
            raise ValueError("num_ensemble, num_layers and layer_width must be >= 1")
        if min(self.epochs, self.train_batch) < 1 or self.learning_rate <= 0:
            raise ValueError("epochs, train_batch and learning_rate must be positive")
        check_candidates(self.num_candidates, self.num_parents, self.batch_size)


def check_rounds(num_init: int, batch_size: int, capacity: int) -> None:
    """``ValueError`` unless the random start fills whole rounds within capacity."""
    if batch_size < 1 or num_init < batch_size or num_init % batch_size:
        raise ValueError(
            f"num_init ({num_init}) must be a positive multiple of batch_size "
            f"({batch_size})"
        )
    if capacity < num_init:
        raise ValueError(f"capacity ({capacity}) must be >= num_init ({num_init})")


def check_candidates(num_candidates: int, num_parents: int, batch_size: int) -> None:
    """``ValueError`` unless the candidate settings can supply a round."""
    if num_parents < 1 or num_candidates < max(num_parents, batch_size):
        raise ValueError(
            f"num_candidates ({num_candidates}) must be >= batch_size ({batch_size}) "
            f"and num_parents ({num_parents}) >= 1"
        )


def encoder(space: SearchSpace, encoding: str, cutoff: int | None):
    """``archs [..., S] -> features [..., F]`` for an MLP, and ``F``. Jittable."""
    if encoding in ("path", "trunc_path"):
        size = path.num_features(space)  # ValueError for spaces without one
        cut = None if encoding == "path" else min(cutoff, size)
        return (lambda a: path.encode(space, a, cutoff=cut)), cut or size
    if encoding == "onehot":
        offsets = np.cumsum((0,) + space.num_choices[:-1])
        size = int(sum(space.num_choices))

        def onehot(archs):
            index = jnp.asarray(archs, jnp.int32) + offsets
            return jnp.sum(jax.nn.one_hot(index, size), axis=-2)

        return onehot, size
    from nasjax import surrogates

    def graph(archs):
        flat = jnp.asarray(archs, jnp.int32).reshape(-1, space.num_slots)
        adjacency, features = surrogates.graph_inputs(space, flat)
        both = jnp.concatenate(
            [adjacency.reshape(flat.shape[0], -1), features.reshape(flat.shape[0], -1)],
            axis=-1,
        )
        return both.reshape(*jnp.shape(archs)[:-1], -1)

    size = graph(jnp.zeros((1, space.num_slots), jnp.int32)).shape[-1]
    return graph, size


def bananas(space: SearchSpace, **options) -> Strategy:
    """BANANAS: an MLP ensemble on the path encoding picks mutated candidates.

    Args:
        space: the search space.
        **options: the fields of :class:`BananasSettings`.

    Returns:
        A :class:`~nasjax.search.Strategy` asking ``batch_size`` models a round.
    """
    settings = configure(BananasSettings, "bananas", options)
    encoding = settings.encoding
    if encoding is None:
        found = encodings.find(space)
        encoding = "trunc_path" if found and found.path else "onehot"
    batch_size, train_batch = settings.batch_size, settings.train_batch
    encode, num_features = encoder(space, encoding, settings.cutoff)
    sizes = (num_features,) + (settings.layer_width,) * settings.num_layers + (1,)

    def train_member(key, features, targets, mask, learning_rate):
        """One MLP from scratch: shuffled minibatches, masked MAE (Keras ``fit``)."""
        optimizer = optax.adam(learning_rate, b1=0.9, b2=0.99, eps=1e-7)  # Keras's
        key_init, key_epochs = jax.random.split(key)
        params = _init_mlp(key_init, sizes)
        count = jnp.sum(mask)

        def loss_fn(params, rows, valid):
            error = jnp.abs(_apply_mlp(params, features[rows]) - targets[rows])
            return jnp.sum(jnp.where(valid, error, 0.0)) / jnp.maximum(valid.sum(), 1)

        num_steps = (count + train_batch - 1) // train_batch  # traced: no idle steps

        def epoch(carry, key):
            order = jnp.argsort(
                jnp.where(mask, jax.random.uniform(key, mask.shape), 2.0)
            )
            order = jnp.pad(order, (0, train_batch))

            def step(index, carry):
                params, opt_state = carry
                rows = jax.lax.dynamic_slice(
                    order, (index * train_batch,), (train_batch,)
                )
                valid = index * train_batch + jnp.arange(train_batch) < count
                grads = jax.grad(loss_fn)(params, rows, valid)
                updates, opt_state = optimizer.update(grads, opt_state, params)
                return optax.apply_updates(params, updates), opt_state

            return jax.lax.fori_loop(0, num_steps, step, carry), None

        (params, _), _ = jax.lax.scan(
            epoch,
            (params, optimizer.init(params)),
            jax.random.split(key_epochs, settings.epochs),
        )
        return params

    def acquire(key, state: BananasState, params: BananasParams):
        key_train, key_candidates, key_draw = jax.random.split(key, 3)
        features = encode(state.archs)
        targets = standardise(state.fitness, state.live)
        members = jax.vmap(train_member, in_axes=(0, None, None, None, None))(
            jax.random.split(key_train, settings.num_ensemble),
            features,
            targets,
            state.live,
            params.learning_rate,
        )
        candidates, usable = mutation_candidates(
            space,
            key_candidates,
            state.archs,
            state.fitness,
            state.live,
            num_candidates=settings.num_candidates,
            num_parents=settings.num_parents,
        )
        predictions = jax.vmap(_apply_mlp, in_axes=(0, None))(
            members, encode(candidates)
        )  # [ensemble, C]
        mean, std = predictions.mean(axis=0), predictions.std(axis=0)
        if settings.acquisition == "its":
            score = mean + std * jax.random.normal(key_draw, mean.shape)
        elif settings.acquisition == "ucb":
            score = mean - UCB_FACTOR * std
        else:
            score = mean
        score = jnp.where(usable, score, jnp.inf)
        _, picks = jax.lax.top_k(-score, batch_size)
        return candidates[picks], usable[picks]

    return predictor_guided(
        space,
        acquire,
        capacity=settings.capacity,
        random_rounds=settings.num_init // batch_size,
        batch_size=batch_size,
        name="bananas",
        settings=settings,
    )
