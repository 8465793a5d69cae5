"""NPENAS-NP (Wei et al., "NPENAS: Neural predictor guided evolution for neural
architecture search", IEEE TNNLS 2022; code: auroua/NPENASv1) as an ask/tell
strategy.

Predictor-guided evolution: after ``num_init`` random models, every round trains a
fresh graph predictor on the models queried so far, mutates the best of them into
``num_candidates`` new candidates and asks the ``batch_size`` the predictor ranks
highest. The predictor is nasjax's BRP-NAS GCN with a unary head
(:class:`nasjax.surrogates.Predictor`) in place of NPENAS's GIN, sized like it
(3 graph layers of width 32, dropout 0.1), trained by :func:`nasjax.surrogates.fit`
inside ``ask``, so a whole trial is one compiled loop and seeds ``vmap``.

Defaults are NPENASv1's for NPENAS-NP (``configs.py``, ``gin_predictor``): 10 random
models, rounds of ``k = 10``, 100 candidates, 300 epochs from scratch each round with
a cosine schedule, learning rate 0.005, weight decay 1e-4, batches of 16 models, the
mean squared error. Candidates are made as BANANAS makes them
(:func:`nasjax.search.bananas.mutation_candidates`: mutations of the best queried
model, then the next best, deduplicated against the queries). Targets are the told
fitness standardised over the training set (NPENAS scales a sigmoid output by a
per-dataset rate instead); AdamW stands in for NPENAS's Adam with weight decay.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array

from nasjax import surrogates
from nasjax.search.bananas import (
    BananasState,
    check_candidates,
    check_rounds,
    mutation_candidates,
    predictor_guided,
    standardise,
)
from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace

NPENASState = BananasState  # the queried models kept for training, and the round


class NPENASParams(NamedTuple):
    learning_rate: float | Array  # the predictor's AdamW step size
    weight_decay: float | Array


@dataclasses.dataclass(frozen=True)
class NPENASSettings(Settings):
    """NPENAS-NP's settings; ``learning_rate`` and ``weight_decay`` are traced
    (:class:`NPENASParams`).

    Attributes:
        num_init: random models first (a multiple of ``batch_size``; NPENAS: 10).
        batch_size: ``k``, models asked a round (10).
        num_candidates: candidates ranked a round (100).
        num_parents: best models mutated for them (the next best fill in up to 5x).
        hidden, num_layers, dropout: the GCN (NPENAS's GIN: 32, 3, 0.1).
        epochs, train_batch, learning_rate, weight_decay: training from scratch
            every round (300, 16, 0.005, 1e-4; cosine schedule).
        capacity: models kept for training (NPENAS keeps every query; beyond
            ``capacity`` a better model replaces the worst).
    """

    Params = NPENASParams
    num_init: int = 10
    batch_size: int = 10
    num_candidates: int = 100
    num_parents: int = 1
    hidden: int = 32
    num_layers: int = 3
    dropout: float = 0.1
    epochs: int = 300
    train_batch: int = 16
    learning_rate: float = 0.005
    weight_decay: float = 1e-4
    capacity: int = 500

    def __post_init__(self):
        check_rounds(self.num_init, self.batch_size, self.capacity)
        check_candidates(self.num_candidates, self.num_parents, self.batch_size)
        sizes = (self.hidden, self.num_layers, self.epochs, self.train_batch)
        if min(sizes) < 1 or self.learning_rate <= 0:
            raise ValueError(
                "hidden, num_layers, epochs, train_batch and learning_rate must be "
                "positive"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


def npenas(space: SearchSpace, **options) -> Strategy:
    """NPENAS-NP: a GCN predictor ranks mutations of the best models queried.

    Args:
        space: the search space (one with a GCN encoding: nb201, nb101, fbnet).
        **options: the fields of :class:`NPENASSettings`.

    Returns:
        A :class:`~nasjax.search.Strategy` asking ``batch_size`` models a round.
    """
    settings = configure(NPENASSettings, "npenas", options)
    batch_size = settings.batch_size
    config = surrogates.FitConfig(
        loss="mse",
        pairing="groups",
        batch_size=settings.train_batch,
        epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        schedule="cosine",
        patience=0,
        restore_best=False,
        monitor="train",
    )
    model = surrogates.Predictor(
        head="unary",
        hidden=settings.hidden,
        num_layers=settings.num_layers,
        dropout=settings.dropout,
    )
    example = jax.tree.map(
        lambda x: x[0],
        surrogates.graph_inputs(space, jnp.zeros((1, space.num_slots), jnp.int32)),
    )

    def acquire(key, state: NPENASState, params: NPENASParams):
        key_params, key_fit, key_candidates = jax.random.split(key, 3)
        adjacency, features = surrogates.graph_inputs(space, state.archs)
        data = surrogates.TrainingSet(
            adjacency,
            features,
            -standardise(state.fitness, state.live),  # higher is better
            state.live,
        )
        initial = surrogates.init_params(model, key_params, *example)
        trained = surrogates.fit(
            model,
            initial,
            key_fit,
            data,
            config,
            learning_rate=params.learning_rate,
            weight_decay=params.weight_decay,
        ).params
        candidates, usable = mutation_candidates(
            space,
            key_candidates,
            state.archs,
            state.fitness,
            state.live,
            num_candidates=settings.num_candidates,
            num_parents=settings.num_parents,
        )
        embeddings = model.apply(trained, *surrogates.graph_inputs(space, candidates))
        predicted = model.apply(trained, embeddings, method=surrogates.Predictor.unary)
        _, picks = jax.lax.top_k(jnp.where(usable, predicted, -jnp.inf), batch_size)
        return candidates[picks], usable[picks]

    return predictor_guided(
        space,
        acquire,
        capacity=settings.capacity,
        random_rounds=settings.num_init // batch_size,
        batch_size=batch_size,
        name="npenas",
        settings=settings,
    )
