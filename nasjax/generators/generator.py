"""The graph generator of AG-Net, in two modes, with its surrogate and losses.

``mode="agnet"`` is AG-Net's decoder-only generator (Lukasik, Jung, Keuper, ECCV 2022):
a latent ``z ~ N(0, I)`` is decoded and the result is scored against a real cell drawn
independently of ``z``, so the decoder learns the distribution of its training cells;
candidates are decoded from ``z ~ U(-3, 3)^D``. ``mode="vae"`` adds an encoder
``q(z | x)``: the cell is encoded, ``z = mean + sigma * eps`` decoded and scored against
the same cell, plus ``kl_weight`` times the KL divergence to ``N(0, I)``; candidates are
decoded from ``z ~ N(0, I)``.

Reconstruction loss per cell (AG-Net's): ``2 (0.5 l_node + 0.5 l_edge)`` with
``l_node`` the node-type cross-entropy averaged over the ``N`` nodes and ``l_edge`` the
edge binary cross-entropy averaged over the ``E`` edges. Decoded graphs are *sampled*
(node types from the categorical of their logits, edges from Bernoulli), node 0 set
to the input and node ``N - 1`` to the output, as the reference does.

The surrogate reads the decoder's logits, so its loss also trains the decoder when the
search optimises ``(1 - alpha) recon + alpha mse`` (:mod:`nasjax.search.agnet`).
Parameters are explicit linen pytrees ``{"decoder", "surrogate"[, "encoder"]}``, so
everything vmaps over seeds.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from nasjax.encodings._typed import INPUT, OUTPUT, GraphFormat
from nasjax.generators._decoders import (
    Encoder,
    OneShotDecoder,
    SequentialDecoder,
    Surrogate,
)

MODES = ("agnet", "vae")
DECODERS = ("gnn", "oneshot")
UNIFORM_BOUND = 3.0  # AG-Net samples candidates from U(-3, 3)^D

Params = Any


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """What fixes the generator's shapes (static, hashable).

    Attributes:
        format: the graph form of the search space (:func:`graph_format`).
        mode: ``"agnet"`` (decoder-only) or ``"vae"`` (with an encoder and KL term).
        decoder: ``"gnn"`` (AG-Net's sequential decoder) or ``"oneshot"`` (an MLP).
        latent_dim: ``D`` (AG-Net: 32).
        node_dim: node and graph embedding width of the GNNs (AG-Net: 32).
        num_layers: message-passing layers per direction (AG-Net: 2).
        hidden: width of the one-shot decoder's two hidden layers.
        num_outputs: surrogate outputs (1: accuracy; 2: accuracy and latency).
        num_conditions: width of the surrogate's condition (the device one-hot).
        surrogate_layers: hidden layers of the surrogate MLP (AG-Net: 4).
        kl_weight: weight of the KL term in the VAE mode.
    """

    format: GraphFormat
    mode: str = "agnet"
    decoder: str = "gnn"
    latent_dim: int = 32
    node_dim: int = 32
    num_layers: int = 2
    hidden: int = 128
    num_outputs: int = 1
    num_conditions: int = 0
    surrogate_layers: int = 4
    kl_weight: float = 0.005

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose from {MODES}")
        if self.decoder not in DECODERS:
            raise ValueError(
                f"unknown decoder {self.decoder!r}; choose from {DECODERS}"
            )
        sizes = {
            "latent_dim": self.latent_dim,
            "node_dim": self.node_dim,
            "num_layers": self.num_layers,
            "hidden": self.hidden,
            "num_outputs": self.num_outputs,
            "surrogate_layers": self.surrogate_layers,
        }
        for name, value in sizes.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.node_dim % 2:
            raise ValueError(f"node_dim must be even (two halves), got {self.node_dim}")
        if self.num_conditions < 0 or self.kl_weight < 0:
            raise ValueError("num_conditions and kl_weight must be >= 0")


class Generator(nn.Module):
    """Decoder, surrogate and (VAE mode) encoder; call through the functions below."""

    config: GeneratorConfig

    def setup(self):
        c, f = self.config, self.config.format
        if c.decoder == "gnn":
            self.decoder = SequentialDecoder(
                f.num_nodes, f.num_types, c.node_dim, c.num_layers
            )
        else:
            self.decoder = OneShotDecoder(f.num_nodes, f.num_types, c.hidden)
        self.surrogate = Surrogate(c.num_outputs, c.surrogate_layers)
        if c.mode == "vae":
            self.encoder = Encoder(f.num_types, c.latent_dim, c.node_dim, c.num_layers)

    def decode(self, z):
        return self.decoder(z)

    def predict(self, node_logits, edge_logits, condition):
        return self.surrogate(node_logits, edge_logits, condition)

    def encode(self, types, edges):
        return self.encoder(types, edges)

    def __call__(self, z, types, edges, condition):
        node_logits, edge_logits = self.decode(z)
        if self.config.mode == "vae":
            self.encode(types, edges)
        return self.predict(node_logits, edge_logits, condition)


def init_params(key: PRNGKeyArray, config: GeneratorConfig) -> Params:
    """Fresh parameters ``{"decoder", "surrogate"[, "encoder"]}``. Jittable."""
    f = config.format
    z = jnp.zeros((1, config.latent_dim))
    types = jnp.zeros((1, f.num_nodes), jnp.int32).at[:, 0].set(INPUT)
    edges = jnp.zeros((1, f.num_edges), bool)
    condition = jnp.zeros((1, config.num_conditions))
    return Generator(config).init(key, z, types, edges, condition)["params"]


def decode(
    config: GeneratorConfig, params: Params, z: Float[Array, "B D"]
) -> tuple[Float[Array, "B N T"], Float[Array, "B E"]]:
    """Node logits ``[B, N, T]`` and edge logits ``[B, E]`` of latents ``z``."""
    return Generator(config).apply({"params": params}, z, method=Generator.decode)


def predict(
    config: GeneratorConfig,
    params: Params,
    node_logits: Float[Array, "B N T"],
    edge_logits: Float[Array, "B E"],
    condition: Float[Array, "B C"],
) -> Float[Array, "B outputs"]:
    """The surrogate's outputs for decoded logits."""
    return Generator(config).apply(
        {"params": params},
        node_logits,
        edge_logits,
        condition,
        method=Generator.predict,
    )


def encode(
    config: GeneratorConfig,
    params: Params,
    types: Int[Array, "B N"],
    edges: Bool[Array, "B E"],
) -> tuple[Float[Array, "B D"], Float[Array, "B D"]]:
    """``q(z | x)``'s mean and log-variance (VAE mode only)."""
    return Generator(config).apply(
        {"params": params}, types, edges, method=Generator.encode
    )


def prior(key: PRNGKeyArray, config: GeneratorConfig, num: int) -> Float[Array, "P D"]:
    """``num`` latents for generating: ``U(-3, 3)^D`` (agnet) or ``N(0, I)`` (vae)."""
    shape = (num, config.latent_dim)
    if config.mode == "vae":
        return jax.random.normal(key, shape)
    return jax.random.uniform(key, shape, minval=-UNIFORM_BOUND, maxval=UNIFORM_BOUND)


def reconstruction_loss(
    node_logits: Float[Array, "B N T"],
    edge_logits: Float[Array, "B E"],
    types: Int[Array, "B N"],
    edges: Bool[Array, "B E"],
) -> Float[Array, "B"]:
    """AG-Net's ``2 (0.5 mean node CE + 0.5 mean edge BCE)`` per cell."""
    node = optax.softmax_cross_entropy_with_integer_labels(node_logits, types)
    edge = optax.sigmoid_binary_cross_entropy(edge_logits, edges.astype(jnp.float32))
    return jnp.mean(node, axis=-1) + jnp.mean(edge, axis=-1)


def kl_divergence(
    mean: Float[Array, "B D"], log_variance: Float[Array, "B D"]
) -> Float[Array, "B"]:
    """``KL(N(mean, exp(log_variance)) || N(0, I))`` per cell."""
    return 0.5 * jnp.sum(jnp.exp(log_variance) + mean**2 - 1.0 - log_variance, axis=-1)


def generator_loss(
    key: PRNGKeyArray,
    config: GeneratorConfig,
    params: Params,
    types: Int[Array, "B N"],
    edges: Bool[Array, "B E"],
) -> tuple[Float[Array, "B"], Float[Array, "B N T"], Float[Array, "B E"]]:
    """Per-cell generator loss and the decoded logits the surrogate then reads.

    ``"agnet"``: decode ``z ~ N(0, I)``, reconstruction loss against the cells.
    ``"vae"``: encode, reparameterise, decode; reconstruction + ``kl_weight`` KL.
    """
    batch = types.shape[0]
    noise = jax.random.normal(key, (batch, config.latent_dim))
    if config.mode == "agnet":
        node_logits, edge_logits = decode(config, params, noise)
        return (
            reconstruction_loss(node_logits, edge_logits, types, edges),
            node_logits,
            edge_logits,
        )
    mean, log_variance = encode(config, params, types, edges)
    z = mean + jnp.exp(0.5 * log_variance) * noise
    node_logits, edge_logits = decode(config, params, z)
    loss = reconstruction_loss(node_logits, edge_logits, types, edges)
    loss = loss + config.kl_weight * kl_divergence(mean, log_variance)
    return loss, node_logits, edge_logits


def sample_graphs(
    key: PRNGKeyArray,
    node_logits: Float[Array, "B N T"],
    edge_logits: Float[Array, "B E"],
) -> tuple[Int[Array, "B N"], Bool[Array, "B E"]]:
    """Draws node types and edges from the logits; node 0 input, node ``N-1`` output."""
    type_key, edge_key = jax.random.split(key)
    types = jax.random.categorical(type_key, node_logits).astype(jnp.int32)
    types = types.at[:, 0].set(INPUT).at[:, -1].set(OUTPUT)
    edges = jax.random.bernoulli(edge_key, jax.nn.sigmoid(edge_logits))
    return types, edges


def generate(
    key: PRNGKeyArray, config: GeneratorConfig, params: Params, z: Float[Array, "B D"]
) -> tuple[Int[Array, "B S"], Bool[Array, "B"], Float[Array, "B N T"], Array]:
    """Decodes and samples ``z``: ``(archs [B, S], valid [B], node/edge logits)``.

    Jittable with fixed shapes; invalid graphs are flagged in ``valid``.
    """
    node_logits, edge_logits = decode(config, params, z)
    types, edges = sample_graphs(key, node_logits, edge_logits)
    archs, valid = config.format.from_graph(types, edges)
    return archs, valid, node_logits, edge_logits


def adam(learning_rate: float) -> optax.GradientTransformation:
    """AG-Net's optimiser: Adam with betas (0.5, 0.999)."""
    return optax.adam(learning_rate, b1=0.5, b2=0.999)


@functools.partial(
    jax.jit, static_argnames=("config", "num_steps", "batch_size", "learning_rate")
)
def pretrain(
    key: PRNGKeyArray,
    config: GeneratorConfig,
    *,
    num_steps: int,
    batch_size: int = 32,
    learning_rate: float = 2e-4,
) -> tuple[Params, Float[Array, "num_steps"]]:
    """Trains a fresh generator on uniformly sampled cells of the space. Jittable.

    AG-Net pretrains its generator this way on the whole space before searching
    (batch 32, Adam 2e-4, betas (0.5, 0.999)); no benchmark value is read, so it costs
    no query. The surrogate keeps its initial parameters.

    Returns:
        ``(params, losses [num_steps])``: the parameters and each step's mean loss.
    """
    init_key, loop_key = jax.random.split(key)
    params = init_params(init_key, config)
    optimiser = adam(learning_rate)

    def loss_fn(trained, key):
        sample_key, noise_key = jax.random.split(key)
        archs = config.format.space.sample(sample_key, batch_size)
        types, edges = config.format.to_graph(archs)
        loss, _, _ = generator_loss(noise_key, config, trained, types, edges)
        return jnp.mean(loss)

    def step(carry, key):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, key)
        grads["surrogate"] = jax.tree.map(jnp.zeros_like, grads["surrogate"])
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    (params, _), losses = jax.lax.scan(
        step,
        (params, optimiser.init(params)),
        jax.random.split(loop_key, num_steps),
    )
    return params, losses
