"""AG-Net's ask/tell functions (see :mod:`nasjax.search.agnet` for the recipe and
the settings): the generator's rounds as one compiled program each."""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int

from nasjax import encodings, generators
from nasjax.generators import GeneratorConfig
from nasjax.search.strategy import Strategy, first_occurrence, seen_in
from nasjax.spaces._base import SearchSpace

PENALTY = 1000.0  # AG-Net's rank penalty for a latency over the limit


class AGNetParams(NamedTuple):
    """AG-Net's traced hyperparameters (defaults from the settings)."""

    alpha: float | Array  # the surrogate's loss weight
    recon_weight: float | Array  # the reconstruction's: 1 - alpha
    learning_rate: float | Array  # Adam's step size
    weight_factor: float | Array  # k in the retraining weights 1 / (k N + rank)
    local_scale: float | Array  # noise scale of latent="best"
    target_scale: float | Array  # the surrogate regresses -fitness x target_scale
    limit: float | Array  # agnet-hw's latency limit (inf: no penalty)


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


def _ids(space: SearchSpace, archs: Int[Array, "... S"]) -> Int[Array, "..."]:
    """The identity the tables key rows by (the space's adapter's: the encoding, or
    its class on nb101)."""
    return encodings.adapter(space).ids(archs)


def _ranks(values: Float[Array, "P"], valid: Bool[Array, "P"], *, descending: bool):
    """0-based rank of each valid entry among the valid ones (ties by position)."""
    values = -values if descending else values
    index = jnp.arange(values.size)
    before = (values[None, :] < values[:, None]) | (
        (values[None, :] == values[:, None]) & (index[None, :] < index[:, None])
    )
    return jnp.sum(before & valid[None, :], axis=1)


def _order_key(acc, lat, valid, settings, params: AGNetParams) -> Float[Array, "P"]:
    """Lower is better: ``-acc`` (agnet) or AG-Net's penalised joint rank (hw)."""
    if not settings.hardware:
        return jnp.where(valid, -acc, jnp.inf)
    rank = _ranks(acc, valid, descending=True) + 1
    rank = rank + settings.joint * (_ranks(lat, valid, descending=False) + 1)
    rank = rank * jnp.where(lat > params.limit, PENALTY, 1.0)
    return jnp.where(valid, rank.astype(jnp.float32), jnp.inf)


def _weights(state: AGNetState, settings, params: AGNetParams) -> Float[Array, "Q"]:
    """AG-Net's retraining weights ``1 / (k N + rank)``; 0 for empty slots."""
    trainable = (state.ids >= 0) & jnp.isfinite(state.fitness[:, 0])
    acc = -state.fitness[:, 0]
    lat = state.fitness[:, -1]
    key = _order_key(acc, lat, trainable, settings, params)
    rank = _ranks(key, trainable, descending=False)
    count = jnp.sum(trainable)
    weights = 1.0 / (params.weight_factor * count + rank)
    return jnp.where(trainable, weights, 0.0)


def make(
    space: SearchSpace, config: GeneratorConfig, settings, device: int, pretrained
) -> Strategy:
    """AG-Net's strategy for ``settings`` (an ``AGNetSettings``; ``ticks`` resolved),
    the generator ``config``, the target ``device``'s index and the pretrained
    decoder (or None)."""
    name = "agnet-hw" if settings.hardware else "agnet"
    num_objectives = 2 if settings.hardware else 1
    batch, capacity = settings.batch_size, settings.max_queries
    condition = jax.nn.one_hot(device, config.num_conditions)

    def conditions(rows: int):
        return jnp.broadcast_to(condition, (rows, config.num_conditions))

    def init(key, hyper: AGNetParams):
        params = generators.init_params(key, config)
        if pretrained is not None:
            params = {**params, **jax.tree.map(jnp.asarray, pretrained)}
        return AGNetState(
            params=params,
            opt_state=generators.adam(hyper.learning_rate).init(params),
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

    def anchors(state, hyper: AGNetParams):
        """Latents of the ``batch_size`` best queried models and which exist."""
        weights = _weights(state, settings, hyper)
        _, best = jax.lax.top_k(weights, batch)
        if config.mode == "vae":
            types, edges = config.format.to_graph(state.archs[best])
            means, _ = generators.encode(config, state.params, types, edges)
            return means, weights[best] > 0
        return state.latents[best], (weights[best] > 0) & state.has_latent[best]

    def latents(key, anchor_latents, usable, hyper: AGNetParams):
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
        noise = jax.random.normal(noise_key, z.shape) * hyper.local_scale
        return jnp.where(jnp.any(usable), anchor_latents[pick] + noise, z)

    def candidates(key, state, hyper: AGNetParams):
        """Decodes chunks of ``num_candidates`` latents until more than ``num_ranked``
        are fresh (valid, not queried, first of their kind) or ``max_chunks`` ran.

        Returns ``(archs, fresh, predicted, z)`` over all ``max_chunks`` chunks; the
        chunks not run are never fresh.
        """
        size = settings.num_candidates * settings.max_chunks
        anchor_latents, usable = None, None
        if settings.latent == "best":
            anchor_latents, usable = anchors(state, hyper)

        def chunk(i, buffers):
            archs, ids, valid, predicted, z = buffers
            z_key, sample_key = jax.random.split(jax.random.fold_in(key, i))
            new_z = latents(z_key, anchor_latents, usable, hyper)
            new_archs, new_valid, node_logits, edge_logits = generators.generate(
                sample_key, config, state.params, new_z
            )
            new_ids = _ids(space, new_archs)
            new_valid = new_valid & ~seen_in(new_ids, state.ids)
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
            return valid & first_occurrence(unique)

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

    def ask(key, state, hyper: AGNetParams):
        candidate_key, subset_key, random_key = jax.random.split(key, 3)
        archs, fresh, predicted, z = candidates(candidate_key, state, hyper)
        # A random ``num_ranked`` of the fresh candidates, ranked by the surrogate.
        priority = jnp.where(fresh, jax.random.uniform(subset_key, fresh.shape), -1.0)
        _, subset = jax.lax.top_k(priority, settings.num_ranked)
        ranked = fresh[subset]
        order = _order_key(
            predicted[subset, 0], predicted[subset, -1], ranked, settings, hyper
        )
        _, pick = jax.lax.top_k(-order, batch)
        chosen = subset[pick]
        use = ranked[pick] & (state.round > 0)
        asked = jnp.where(use[:, None], archs[chosen], space.sample(random_key, batch))
        state = state._replace(asked_latents=z[chosen], asked_has_latent=use)
        return asked, state

    def loss_fn(params, hyper, key, archs, targets, known, weights):
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
        loss = hyper.recon_weight * recon + hyper.alpha * mse
        return jnp.mean(loss * weights)

    def retrain(state, key, hyper: AGNetParams):
        optimiser = generators.adam(hyper.learning_rate)
        weights = _weights(state, settings, hyper)
        num_models = jnp.sum(weights > 0)
        num_steps = settings.ticks * -(-num_models // settings.train_batch_size)
        num_steps = jnp.where(state.count < capacity, num_steps, 0)
        targets = -state.fitness * hyper.target_scale
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
                hyper,
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

    def tell(state, archs, fitness, hyper: AGNetParams):
        chex.assert_shape(archs, (batch, space.num_slots))
        chex.assert_shape(fitness, (batch,) if num_objectives == 1 else (batch, 2))
        fitness = fitness.reshape(batch, num_objectives)
        ids = _ids(space, archs)
        record = ~seen_in(ids, state.ids) & first_occurrence(ids)
        slot = jnp.where(record, state.count + jnp.cumsum(record) - 1, capacity)
        key, retrain_key = jax.random.split(jax.random.wrap_key_data(state.key))
        state = state._replace(
            archs=state.archs.at[slot].set(archs, mode="drop"),
            ids=state.ids.at[slot].set(ids, mode="drop"),
            fitness=state.fitness.at[slot].set(fitness, mode="drop"),
            latents=state.latents.at[slot].set(state.asked_latents, mode="drop"),
            has_latent=state.has_latent.at[slot].set(
                state.asked_has_latent, mode="drop"
            ),
            count=jnp.minimum(state.count + jnp.sum(record), capacity),
            round=state.round + 1,
            key=jax.random.key_data(key),
        )
        return retrain(state, retrain_key, hyper)

    return Strategy(
        init,
        ask,
        tell,
        batch,
        name,
        num_objectives,
        settings.params(),
        settings,
        space,
    )
