"""AG-Net: a generator that learns where to look (Lukasik, Jung, Keuper, ECCV 2022).

The recipe of jovitalukasik/AG-Net (``Search_Tabular.py``, ``Search_HW.py``) as an
ask/tell strategy whose every round is one compiled program:

* round 0 asks ``batch_size`` (16) uniformly random architectures;
* every ``tell`` records the new values and retrains the generator and its surrogate
  jointly for ``ticks x ceil(N / train_batch_size)`` steps of ``train_batch_size``
  examples (``N`` the queried models), each example drawn with probability
  proportional to ``w = 1 / (weight_factor N + rank)`` (rank 0 = best) and its loss
  weighted by ``w`` again, as the reference does; loss
  ``(1 - alpha) recon + alpha mse`` (``agnet``) or
  ``(1 - alpha) recon + alpha (0.5 mse_lat + 0.5 mse_acc)`` (``agnet-hw``, each term
  divided by ``max(term, 1)`` per example), Adam(1e-3, betas 0.5, 0.999);
* every later ``ask`` decodes chunks of ``num_candidates`` (512) latents until more
  than ``num_ranked`` (100) decoded cells are fresh or ``max_chunks`` (8) chunks ran
  (the reference decodes 100, 200, ... 900 until it has more than 100 new valid
  cells), masks invalid cells, cells already queried and repeats, keeps a random
  ``num_ranked`` of the fresh ones and asks the surrogate's best ``batch_size``. All
  buffers have fixed shapes. If fewer than ``batch_size`` are fresh, uniformly random
  architectures fill the batch (the reference would add fewer that round).

The generator starts from one shared pretraining on uniformly sampled cells
(:func:`nasjax.generators.pretrain`, no queries), as the reference loads its
pretrained checkpoint; the surrogate and optimiser start fresh for every seed.

``agnet-hw`` is told fitness ``[B, 2]`` = (negated accuracy, latency) and ranks by
``rank = (acc_rank + joint lat_rank) x (1000 if latency > limit else 1)`` (AG-Net's
Eq. 4 with ``joint=1``, Eq. 5 with ``joint=0``), for the retraining weights (true
values) and the candidates (the surrogate's predictions). Its surrogate also reads the
one-hot of the target device, as the reference's does.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int

from nasjax import encodings, generators
from nasjax.data.hwnasbench import DEVICES
from nasjax.generators import GeneratorConfig
from nasjax.search.strategy import Strategy
from nasjax.spaces._base import SearchSpace

LATENTS = ("prior", "best")
PENALTY = 1000.0  # AG-Net's rank penalty for a latency over the limit


class AGNetState(NamedTuple):
    """Generator, optimiser and the queried models, padded to ``Q = max_queries``."""

    params: Any  # {"decoder", "surrogate"[, "encoder"]}
    opt_state: Any
    archs: Int[Array, "Q S"]  # recorded architectures, in order; 0 when empty
    ids: Int[Array, "Q"]  # their identity (space index, canonical for nb101); -1 empty
    fitness: Float[Array, "Q M"]  # minimised values as told; +inf empty or unknown
    latents: Float[Array, "Q D"]  # the latent a generated arch was decoded from
    has_latent: Bool[Array, "Q"]  # False for the random ones
    count: Int[Array, ""]  # recorded models
    asked_latents: Float[Array, "B D"]  # latents of the last ask
    asked_has_latent: Bool[Array, "B"]
    round: Int[Array, ""]
    key: Array  # uint32 key data for the retraining's draws


@dataclasses.dataclass(frozen=True)
class _Settings:
    ticks: int
    batch_size: int
    train_batch_size: int
    num_candidates: int
    max_chunks: int
    num_ranked: int
    weight_factor: float
    alpha: float
    learning_rate: float
    max_queries: int
    latent: str
    local_scale: float
    target_scale: float
    hardware: bool
    limit: float
    joint: int
    device: int


def _ids(space: SearchSpace, archs: Int[Array, "... S"]) -> Int[Array, "..."]:
    """The identity the tables key rows by (the space's adapter's: the encoding, or
    its class on nb101)."""
    return encodings.adapter(space).ids(archs)


def _first_occurrence(ids: Int[Array, "P"]) -> Bool[Array, "P"]:
    """True at the first position of each value (sort-based, O(P log P))."""
    order = jnp.argsort(ids, stable=True)
    ordered = ids[order]
    first = jnp.concatenate([jnp.array([True]), ordered[1:] != ordered[:-1]])
    return jnp.zeros(ids.shape, bool).at[order].set(first)


def _ranks(values: Float[Array, "P"], valid: Bool[Array, "P"], *, descending: bool):
    """0-based rank of each valid entry among the valid ones (ties by position)."""
    values = -values if descending else values
    index = jnp.arange(values.size)
    before = (values[None, :] < values[:, None]) | (
        (values[None, :] == values[:, None]) & (index[None, :] < index[:, None])
    )
    return jnp.sum(before & valid[None, :], axis=1)


def _order_key(acc, lat, valid, settings: _Settings) -> Float[Array, "P"]:
    """Lower is better: ``-acc`` (agnet) or AG-Net's penalised joint rank (hw)."""
    if not settings.hardware:
        return jnp.where(valid, -acc, jnp.inf)
    rank = _ranks(acc, valid, descending=True) + 1
    rank = rank + settings.joint * (_ranks(lat, valid, descending=False) + 1)
    rank = rank * jnp.where(lat > settings.limit, PENALTY, 1.0)
    return jnp.where(valid, rank.astype(jnp.float32), jnp.inf)


def _weights(state: AGNetState, settings: _Settings) -> Float[Array, "Q"]:
    """AG-Net's retraining weights ``1 / (k N + rank)``; 0 for empty slots."""
    trainable = (state.ids >= 0) & jnp.isfinite(state.fitness[:, 0])
    acc = -state.fitness[:, 0]
    lat = state.fitness[:, -1]
    key = _order_key(acc, lat, trainable, settings)
    rank = _ranks(key, trainable, descending=False)
    count = jnp.sum(trainable)
    weights = 1.0 / (settings.weight_factor * count + rank)
    return jnp.where(trainable, weights, 0.0)


def _make(space: SearchSpace, config: GeneratorConfig, settings: _Settings, pretrained):
    name = "agnet-hw" if settings.hardware else "agnet"
    num_objectives = 2 if settings.hardware else 1
    batch, capacity = settings.batch_size, settings.max_queries
    optimiser = generators.adam(settings.learning_rate)
    condition = jax.nn.one_hot(settings.device, config.num_conditions)

    def conditions(rows: int):
        return jnp.broadcast_to(condition, (rows, config.num_conditions))

    def init(key):
        params = generators.init_params(key, config)
        if pretrained is not None:
            params = {**params, **jax.tree.map(jnp.asarray, pretrained)}
        return AGNetState(
            params=params,
            opt_state=optimiser.init(params),
            archs=jnp.zeros((capacity, space.num_slots), jnp.int32),
            ids=jnp.full((capacity,), -1, jnp.int32),
            fitness=jnp.full((capacity, num_objectives), jnp.inf),
            latents=jnp.zeros((capacity, config.latent_dim)),
            has_latent=jnp.zeros((capacity,), bool),
            count=jnp.int32(0),
            asked_latents=jnp.zeros((batch, config.latent_dim)),
            asked_has_latent=jnp.zeros((batch,), bool),
            round=jnp.int32(0),
            key=jax.random.key_data(jax.random.fold_in(key, 1)),
        )

    def anchors(state):
        """Latents of the ``batch_size`` best queried models and which exist."""
        weights = _weights(state, settings)
        _, best = jax.lax.top_k(weights, batch)
        if config.mode == "vae":
            types, edges = config.format.to_graph(state.archs[best])
            means, _ = generators.encode(config, state.params, types, edges)
            return means, weights[best] > 0
        return state.latents[best], (weights[best] > 0) & state.has_latent[best]

    def latents(key, anchor_latents, usable):
        """``[C, D]`` latents: the prior, or around the best queried models."""
        prior_key, anchor_key, noise_key = jax.random.split(key, 3)
        z = generators.prior(prior_key, config, settings.num_candidates)
        if settings.latent == "prior":
            return z
        pick = jax.random.categorical(
            anchor_key,
            jnp.where(usable, 0.0, -jnp.inf),
            shape=(settings.num_candidates,),
        )
        noise = jax.random.normal(noise_key, z.shape) * settings.local_scale
        return jnp.where(jnp.any(usable), anchor_latents[pick] + noise, z)

    def candidates(key, state):
        """Decodes chunks of ``num_candidates`` latents until more than ``num_ranked``
        are fresh (valid, not queried, first of their kind) or ``max_chunks`` ran.

        Returns ``(archs, fresh, predicted, z)`` over all ``max_chunks`` chunks; the
        chunks not run are never fresh.
        """
        size = settings.num_candidates * settings.max_chunks
        anchor_latents, usable = None, None
        if settings.latent == "best":
            anchor_latents, usable = anchors(state)

        def chunk(i, buffers):
            archs, ids, valid, predicted, z = buffers
            z_key, sample_key = jax.random.split(jax.random.fold_in(key, i))
            new_z = latents(z_key, anchor_latents, usable)
            new_archs, new_valid, node_logits, edge_logits = generators.generate(
                sample_key, config, state.params, new_z
            )
            new_ids = _ids(space, new_archs)
            new_valid = new_valid & ~jnp.any(
                new_ids[:, None] == state.ids[None, :], axis=1
            )
            new_predicted = generators.predict(
                config,
                state.params,
                node_logits,
                edge_logits,
                conditions(settings.num_candidates),
            )
            start = i * settings.num_candidates

            def put(buffer, values):
                index = (start,) + (0,) * (buffer.ndim - 1)
                return jax.lax.dynamic_update_slice(buffer, values, index)

            return (
                put(archs, new_archs),
                put(ids, new_ids),
                put(valid, new_valid),
                put(predicted, new_predicted),
                put(z, new_z),
            )

        def fresh_of(ids, valid):
            unique = jnp.where(valid, ids, -2 - jnp.arange(size))  # invalid: distinct
            return valid & _first_occurrence(unique)

        def cond(carry):
            i, buffers = carry
            enough = jnp.sum(fresh_of(buffers[1], buffers[2])) > settings.num_ranked
            return (i < settings.max_chunks) & ~enough

        def body(carry):
            i, buffers = carry
            return i + 1, chunk(i, buffers)

        empty = (
            jnp.zeros((size, space.num_slots), jnp.int32),
            jnp.zeros((size,), jnp.int32),
            jnp.zeros((size,), bool),
            jnp.zeros((size, config.num_outputs)),
            jnp.zeros((size, config.latent_dim)),
        )
        _, (archs, ids, valid, predicted, z) = jax.lax.while_loop(
            cond, body, (jnp.int32(0), empty)
        )
        return archs, fresh_of(ids, valid), predicted, z

    def ask(key, state):
        candidate_key, subset_key, random_key = jax.random.split(key, 3)
        archs, fresh, predicted, z = candidates(candidate_key, state)
        # A random ``num_ranked`` of the fresh candidates, ranked by the surrogate.
        priority = jnp.where(fresh, jax.random.uniform(subset_key, fresh.shape), -1.0)
        _, subset = jax.lax.top_k(priority, settings.num_ranked)
        ranked = fresh[subset]
        order = _order_key(
            predicted[subset, 0], predicted[subset, -1], ranked, settings
        )
        _, pick = jax.lax.top_k(-order, batch)
        chosen = subset[pick]
        use = ranked[pick] & (state.round > 0)
        asked = jnp.where(use[:, None], archs[chosen], space.sample(random_key, batch))
        state = state._replace(asked_latents=z[chosen], asked_has_latent=use)
        return asked, state

    def loss_fn(params, key, archs, targets, known, weights):
        types, edges = config.format.to_graph(archs)
        recon, node_logits, edge_logits = generators.generator_loss(
            key, config, params, types, edges
        )
        predicted = generators.predict(
            config, params, node_logits, edge_logits, conditions(archs.shape[0])
        )
        error = jnp.where(known, (predicted - targets) ** 2, 0.0)  # [b, M]
        if settings.hardware:

            def capped(term):  # the reference divides each term by max(term, 1)
                return term / jnp.maximum(jax.lax.stop_gradient(term), 1.0)

            mse = 0.5 * capped(error[:, 1]) + 0.5 * capped(error[:, 0])
            recon = capped(recon)
        else:
            mse = error[:, 0]
        loss = (1.0 - settings.alpha) * recon + settings.alpha * mse
        return jnp.mean(loss * weights)

    def retrain(state, key):
        weights = _weights(state, settings)
        num_models = jnp.sum(weights > 0)
        num_steps = settings.ticks * -(-num_models // settings.train_batch_size)
        num_steps = jnp.where(state.count < capacity, num_steps, 0)
        targets = -state.fitness * settings.target_scale
        if settings.hardware:
            targets = jnp.stack([targets[:, 0], state.fitness[:, 1]], axis=-1)
        known = jnp.isfinite(targets)
        targets = jnp.where(known, targets, 0.0)
        log_weights = jnp.where(weights > 0, jnp.log(weights), -jnp.inf)

        def step(i, carry):
            params, opt_state = carry
            draw_key, loss_key = jax.random.split(jax.random.fold_in(key, i))
            rows = jax.random.categorical(
                draw_key, log_weights, shape=(settings.train_batch_size,)
            )
            grads = jax.grad(loss_fn)(
                params,
                loss_key,
                state.archs[rows],
                targets[rows],
                known[rows],
                weights[rows],
            )
            updates, opt_state = optimiser.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        params, opt_state = jax.lax.fori_loop(
            0, num_steps, step, (state.params, state.opt_state)
        )
        return state._replace(params=params, opt_state=opt_state)

    def tell(state, archs, fitness):
        chex.assert_shape(archs, (batch, space.num_slots))
        chex.assert_shape(fitness, (batch,) if num_objectives == 1 else (batch, 2))
        fitness = fitness.reshape(batch, num_objectives)
        ids = _ids(space, archs)
        record = (
            ~jnp.isnan(fitness[:, 0])
            & ~jnp.any(ids[:, None] == state.ids[None, :], axis=1)
            & _first_occurrence(ids)
        )
        slot = jnp.where(record, state.count + jnp.cumsum(record) - 1, capacity)
        key, retrain_key = jax.random.split(jax.random.wrap_key_data(state.key))
        state = state._replace(
            archs=state.archs.at[slot].set(archs, mode="drop"),
            ids=state.ids.at[slot].set(ids, mode="drop"),
            fitness=state.fitness.at[slot].set(
                jnp.where(jnp.isnan(fitness), jnp.inf, fitness), mode="drop"
            ),
            latents=state.latents.at[slot].set(state.asked_latents, mode="drop"),
            has_latent=state.has_latent.at[slot].set(
                state.asked_has_latent, mode="drop"
            ),
            count=jnp.minimum(state.count + jnp.sum(record), capacity),
            round=state.round + 1,
            key=jax.random.key_data(key),
        )
        return retrain(state, retrain_key)

    return Strategy(init, ask, tell, batch, name, num_objectives)


@functools.cache
def _pretrained(config: GeneratorConfig, num_steps: int, seed: int):
    """The shared pretrained decoder (and encoder), as host arrays. Cached."""
    params, _ = generators.pretrain(jax.random.key(seed), config, num_steps=num_steps)
    return {
        k: jax.tree.map(np.asarray, v) for k, v in params.items() if k != "surrogate"
    }


@functools.cache  # one Strategy (and one compiled run) per setting
def _build(
    space: SearchSpace,
    *,
    hardware: bool,
    mode: str,
    decoder: str,
    latent_dim: int,
    node_dim: int,
    hidden: int,
    ticks: int | None,
    batch_size: int,
    train_batch_size: int,
    num_candidates: int,
    max_chunks: int,
    num_ranked: int,
    weight_factor: float,
    alpha: float,
    learning_rate: float,
    max_queries: int,
    latent: str,
    local_scale: float,
    target_scale: float,
    pretrain_steps: int,
    pretrain_seed: int,
    limit: float = float("inf"),
    joint: int = 1,
    device: str = "edgegpu",
) -> Strategy:
    format_ = generators.graph_format(space)  # ValueError for other spaces
    config = GeneratorConfig(
        format_,
        mode=mode,
        decoder=decoder,
        latent_dim=latent_dim,
        node_dim=node_dim,
        hidden=hidden,
        num_outputs=2 if hardware else 1,
        num_conditions=len(DEVICES) if hardware else 0,
    )
    if ticks is None:
        ticks = format_.ticks  # the space's: 30 on nb201, 15 on nb101
    checks = [
        (ticks >= 1, f"ticks must be >= 1, got {ticks}"),
        (batch_size >= 1, f"batch_size must be >= 1, got {batch_size}"),
        (
            train_batch_size >= 1,
            f"train_batch_size must be >= 1, got {train_batch_size}",
        ),
        (
            batch_size <= num_ranked <= num_candidates,
            "need batch_size <= num_ranked <= num_candidates, got "
            f"{batch_size}, {num_ranked}, {num_candidates}",
        ),
        (max_chunks >= 1, f"max_chunks must be >= 1, got {max_chunks}"),
        (0.0 <= alpha <= 1.0, f"alpha must be in [0, 1], got {alpha}"),
        (weight_factor > 0, f"weight_factor must be > 0, got {weight_factor}"),
        (learning_rate > 0, f"learning_rate must be > 0, got {learning_rate}"),
        (
            max_queries >= batch_size,
            f"max_queries must be >= batch_size, got {max_queries}",
        ),
        (latent in LATENTS, f"unknown latent {latent!r}; choose from {LATENTS}"),
        (local_scale > 0, f"local_scale must be > 0, got {local_scale}"),
        (target_scale > 0, f"target_scale must be > 0, got {target_scale}"),
        (pretrain_steps >= 0, f"pretrain_steps must be >= 0, got {pretrain_steps}"),
        (device in DEVICES, f"unknown device {device!r}; choose from {DEVICES}"),
        (joint in (0, 1), f"joint must be 0 (Eq. 5) or 1 (Eq. 4), got {joint!r}"),
        (limit > 0, f"limit must be > 0, got {limit}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    settings = _Settings(
        ticks=ticks,
        batch_size=batch_size,
        train_batch_size=train_batch_size,
        num_candidates=num_candidates,
        max_chunks=max_chunks,
        num_ranked=num_ranked,
        weight_factor=weight_factor,
        alpha=alpha,
        learning_rate=learning_rate,
        max_queries=max_queries,
        latent=latent,
        local_scale=local_scale,
        target_scale=target_scale,
        hardware=hardware,
        limit=float(limit),
        joint=int(joint),
        device=DEVICES.index(device),
    )
    pretrained = None
    if pretrain_steps:
        plain = dataclasses.replace(config, num_outputs=1, num_conditions=0)
        pretrained = _pretrained(plain, pretrain_steps, pretrain_seed)
    return _make(space, config, settings, pretrained)


_COMMON = dict(
    mode="agnet",
    decoder="gnn",
    latent_dim=32,
    node_dim=32,
    hidden=128,
    ticks=None,
    batch_size=16,
    train_batch_size=16,
    num_candidates=512,
    max_chunks=8,
    num_ranked=100,
    weight_factor=0.01,
    learning_rate=1e-3,
    max_queries=320,
    latent="prior",
    local_scale=0.5,
    target_scale=0.01,
    pretrain_steps=2000,
    pretrain_seed=0,
)


def agnet(space: SearchSpace, **options) -> Strategy:
    """AG-Net on one objective (fitness ``[B]``, minimised; accuracies negated).

    Args:
        space: ``nb201()`` or ``nb101()``.
        **options: keyword-only; the reference's values where it has one.

            * ``mode``: ``"agnet"`` (decoder-only) or ``"vae"``.
            * ``decoder``: ``"gnn"`` (sequential, the reference's) or ``"oneshot"``.
            * ``latent_dim`` 32, ``node_dim`` 32, ``hidden`` 128 (one-shot width).
            * ``ticks``: 30 on nb201, 15 on nb101.
            * ``batch_size`` 16 (asked a round), ``train_batch_size`` 16.
            * ``num_candidates`` 512 latents a chunk, at most ``max_chunks`` 8
              chunks a round, ``num_ranked`` 100.
            * ``weight_factor`` 0.01, ``alpha`` 0.9, ``learning_rate`` 1e-3.
            * ``max_queries`` 320: capacity of the state; use at least the run's
              budget.
            * ``latent``: ``"prior"``, or ``"best"``: latents around those of the
              ``batch_size`` best queried models (their encodings in the VAE mode)
              plus ``local_scale`` (0.5) times Gaussian noise.
            * ``target_scale`` 0.01: the surrogate regresses ``-fitness x
              target_scale`` (percent accuracy as a fraction, as the reference).
            * ``pretrain_steps`` 2000 (0: none), ``pretrain_seed`` 0.

    Raises:
        ValueError: another space, or an option out of range.
    """
    return _build(space, hardware=False, **{**_COMMON, "alpha": 0.9, **options})


def agnet_hw(
    space: SearchSpace,
    *,
    limit: float = float("inf"),
    joint: int = 1,
    device: str = "edgegpu",
    num_objectives: int = 2,
    **options,
) -> Strategy:
    """Hardware-aware AG-Net: fitness ``[B, 2]`` = (negated accuracy, latency).

    Args:
        space: ``nb201()`` or ``nb101()``.
        limit: the latency limit ``L`` (ms); ``inf`` ranks without a penalty.
        joint: 1 ranks by accuracy + latency ranks (Eq. 4), 0 by accuracy (Eq. 5),
            both with the penalty over ``limit``.
        device: the target device whose one-hot the surrogate reads (of
            :data:`DEVICES`; the latency values themselves come from ``run``).
        num_objectives: must be 2 (for callers that pass it to every
            multi-objective strategy).
        **options: as :func:`agnet`; ``alpha`` defaults to 0.95.

    Raises:
        ValueError: another space, an unknown device, or an option out of range.
    """
    if num_objectives != 2:
        raise ValueError(f"agnet-hw optimises 2 objectives, got {num_objectives}")
    return _build(
        space,
        hardware=True,
        limit=limit,
        joint=joint,
        device=device,
        **{**_COMMON, "alpha": 0.95, **options},
    )
