"""The generator's networks (flax linen): two decoders, the VAE encoder, the surrogate.

Shape letters: ``B`` graphs, ``N`` nodes, ``T`` node types, ``E = N (N - 1) / 2``
target-major edges, ``D`` latent width, ``H`` node-embedding width, ``C`` condition
width (the target device's one-hot; 0 without).

* :class:`SequentialDecoder`: AG-Net's decoder (jovitalukasik/AG-Net ``Generator.py``),
  unrolled over the ``N - 1`` nodes it adds. Each step propagates the node states over
  the graph built so far (``num_layers`` GRU message-passing layers forwards on one half
  of each state and backwards on the other), pools them with a gated sum, emits the new
  node's type logits from the pooled state and ``z``, embeds the new node and scores an
  edge from every earlier node. The next step's graph keeps the edges whose logit is
  above 0.5 (as the reference; no gradient through the structure). The edge into node
  1 has the fixed logit 20.
* :class:`OneShotDecoder`: an MLP from ``z`` to every logit at once.
* :class:`Encoder`: ``q(z | x)`` for the VAE mode, GRU message passing forwards and
  backwards over the cell's masked ``GraphsTuple`` and a masked mean pool.
* :class:`Surrogate`: AG-Net's MLP predictor over the decoder's logits (``num_layers``
  hidden layers as wide as its input, the condition appended after each).

Node 0 is always the input: both decoders give it the fixed logits ``20 * onehot``.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from nasjax.encodings._graph import aggregate, dag_graph, masked_mean_pool, merge_batch
from nasjax.encodings._typed import INPUT, OUTPUT, to_adjacency

FIXED_LOGIT = 20.0
EDGE_THRESHOLD = 0.5


def _input_logits(batch: int, num_types: int) -> Float[Array, "B T"]:
    return jnp.broadcast_to(
        FIXED_LOGIT * jax.nn.one_hot(INPUT, num_types), (batch, num_types)
    )


class _Propagate(nn.Module):
    """``num_layers`` GRU message-passing layers along the edges of ``adjacency``.

    A message ``j -> k`` is ``W [h_j; h_k] + b``, summed at ``k``; every node then
    updates its state with a GRU cell whose input is that sum (zero without incoming
    edges). One matmul of ``h`` gives both message halves and the GRU's hidden gates.
    """

    num_layers: int

    @nn.compact
    def __call__(
        self, h: Float[Array, "B N F"], adjacency: Float[Array, "B N N"]
    ) -> Float[Array, "B N F"]:
        width = h.shape[-1]
        in_degree = jnp.sum(adjacency, axis=-2)[..., None]  # [B, N, 1]
        for _ in range(self.num_layers):
            send, receive, hidden = jnp.split(
                nn.Dense(7 * width)(h), [2 * width, 4 * width], axis=-1
            )
            messages = jnp.einsum("bjk,bjf->bkf", adjacency, send) + in_degree * receive
            r_x, z_x, n_x = jnp.split(nn.Dense(3 * width)(messages), 3, axis=-1)
            r_h, z_h, n_h = jnp.split(hidden, 3, axis=-1)
            reset = nn.sigmoid(r_x + r_h)
            update = nn.sigmoid(z_x + z_h)
            h = (1.0 - update) * jnp.tanh(n_x + reset * n_h) + update * h
        return h


# Forward and backward propagation: the same layers with their own weights, run as
# one batched computation over a leading direction axis of size 2.
_Bidirectional = nn.vmap(
    _Propagate,
    in_axes=0,
    out_axes=0,
    variable_axes={"params": 0},
    split_rngs={"params": True},
)


class _TypeEmbedding(nn.Module):
    """Type logits -> node embedding (two layers)."""

    dim: int

    @nn.compact
    def __call__(self, logits):
        return nn.Dense(self.dim)(nn.relu(nn.Dense(self.dim)(logits)))


class SequentialDecoder(nn.Module):
    """AG-Net's node-by-node GNN decoder: ``z [B, D]`` -> logits (see module doc).

    The ``N - 1`` steps share their weights and are unrolled: step ``size`` works on
    exactly the ``size`` nodes that exist (``h [B, size, H]``), so no step pays for
    the later nodes' slots or masks them. At ``size = 1`` (only the input exists)
    the reference skips propagation and gating and fixes the edge logit to 20; so
    does this decoder.
    """

    num_nodes: int
    num_types: int
    node_dim: int = 32
    num_layers: int = 2

    def setup(self):
        dim = self.node_dim
        self.propagate = _Bidirectional(self.num_layers)
        # Gated sums (the graph embedding and the one the new node's state reads) and
        # each node's part of its edge score, from one matmul of the node states.
        self.node_out = nn.Dense(4 * dim + 2)
        self.type_hidden, self.type_out = nn.Dense(dim), nn.Dense(self.num_types)
        self.embed = _TypeEmbedding(dim)  # shared by the input and every new node
        self.start_hidden, self.start_out = nn.Dense(2 * dim), nn.Dense(dim)
        self.init_hidden, self.init_out = nn.Dense(2 * dim), nn.Dense(dim)
        self.context, self.edge_out = nn.Dense(2 * dim), nn.Dense(1)

    def step(self, h, adjacency, z):
        """Adds node ``size = h.shape[1]`` to ``h [B, size, H]`` and ``adjacency
        [B, size, size]``: returns the grown pair, its type logits ``[B, T]`` and the
        edge logits from the earlier nodes ``[B, size]``."""
        dim, size = self.node_dim, h.shape[1]
        if size > 1:
            directions = jnp.stack([h[..., : dim // 2], h[..., dim // 2 :]])
            adjacencies = jnp.stack([adjacency, jnp.swapaxes(adjacency, -1, -2)])
            propagated = self.propagate(directions, adjacencies)
            h = jnp.concatenate([propagated[0], propagated[1]], axis=-1)
        value, value_init, gates, edge_part = jnp.split(
            self.node_out(h), [dim, 2 * dim, 2 * dim + 2], axis=-1
        )
        if size > 1:
            gates = nn.sigmoid(gates)
            graph = jnp.sum(value * gates[..., :1], axis=1)  # [B, H]
            graph_init = jnp.sum(value_init * gates[..., 1:], axis=1)
        else:
            graph, graph_init = value[:, 0], value_init[:, 0]
        hidden = nn.relu(self.type_hidden(jnp.concatenate([graph, z], axis=-1)))
        logits = self.type_out(hidden)
        new = jnp.concatenate([self.embed(logits), graph_init, z], axis=-1)
        new = self.init_out(nn.relu(self.init_hidden(new)))  # [B, H]
        context = self.context(jnp.concatenate([new, graph, z], axis=-1))
        edges = self.edge_out(nn.relu(edge_part + context[:, None]))[..., 0]
        if size == 1:
            edges = jnp.full_like(edges, FIXED_LOGIT)
        column = jax.lax.stop_gradient(edges > EDGE_THRESHOLD).astype(h.dtype)
        h = jnp.concatenate([h, new[:, None]], axis=1)
        adjacency = jnp.pad(
            jnp.concatenate([adjacency, column[..., None]], -1),
            ((0, 0), (0, 1), (0, 0)),
        )
        return h, adjacency, logits, edges

    def __call__(
        self, z: Float[Array, "B D"]
    ) -> tuple[Float[Array, "B N T"], Float[Array, "B E"]]:
        batch = z.shape[0]
        input_logits = _input_logits(batch, self.num_types)
        start = jnp.concatenate([self.embed(input_logits), z], axis=-1)
        h = self.start_out(nn.relu(self.start_hidden(start)))[:, None]  # [B, 1, H]
        adjacency = jnp.zeros((batch, 1, 1))
        logits, edges = [input_logits], []
        for _ in range(1, self.num_nodes):
            h, adjacency, new_logits, new_edges = self.step(h, adjacency, z)
            logits.append(new_logits)
            edges.append(new_edges)
        # Target-major edges: node ``dst`` scored its sources ``0 .. dst - 1``.
        return jnp.stack(logits, axis=1), jnp.concatenate(edges, axis=-1)


class OneShotDecoder(nn.Module):
    """An MLP ``z [B, D]`` -> all node and edge logits in one pass."""

    num_nodes: int
    num_types: int
    hidden: int = 128

    @nn.compact
    def __call__(
        self, z: Float[Array, "B D"]
    ) -> tuple[Float[Array, "B N T"], Float[Array, "B E"]]:
        num_node_logits = (self.num_nodes - 1) * self.num_types
        num_edges = self.num_nodes * (self.num_nodes - 1) // 2
        x = nn.relu(nn.Dense(self.hidden)(z))
        x = nn.relu(nn.Dense(self.hidden)(x))
        out = nn.Dense(num_node_logits + num_edges)(x)
        nodes = out[:, :num_node_logits].reshape(-1, self.num_nodes - 1, self.num_types)
        first = _input_logits(z.shape[0], self.num_types)[:, None]
        return jnp.concatenate([first, nodes], axis=1), out[:, num_node_logits:]


def graph_batch(types: Int[Array, "B N"], edges: Bool[Array, "B E"], num_types: int):
    """The cells as one masked jraph batch (nodes after the first output masked)."""
    num_nodes = types.shape[-1]
    node = np.arange(num_nodes)
    is_output = (types == OUTPUT) & (node > 0)
    last = jnp.where(jnp.any(is_output, -1), jnp.argmax(is_output, -1), num_nodes - 1)
    node_mask = node <= last[:, None]
    adjacency = to_adjacency(edges, num_nodes)
    features = jax.nn.one_hot(types, num_types)
    return merge_batch(jax.vmap(dag_graph)(adjacency, features, node_mask))


class Encoder(nn.Module):
    """``q(z | x)``: the cells' graphs -> ``(mean [B, D], log_variance [B, D])``."""

    num_types: int
    latent_dim: int = 32
    node_dim: int = 32
    num_layers: int = 2

    @nn.compact
    def __call__(self, types: Int[Array, "B N"], edges: Bool[Array, "B E"]):
        graph = graph_batch(types, edges, self.num_types)
        h = nn.Dense(self.node_dim)(graph.nodes["features"])
        for _ in range(self.num_layers):
            forward = aggregate(graph, nn.Dense(self.node_dim)(h))
            backward = aggregate(graph, nn.Dense(self.node_dim)(h), reverse=True)
            h, _ = nn.GRUCell(self.node_dim)(
                h, jnp.concatenate([forward, backward], -1)
            )
        pooled = masked_mean_pool(graph, h)
        out = nn.Dense(2 * self.latent_dim)(nn.relu(nn.Dense(self.node_dim)(pooled)))
        return out[:, : self.latent_dim], out[:, self.latent_dim :]


class Surrogate(nn.Module):
    """AG-Net's MLP: ``[node logits, edge logits, condition]`` -> ``[B, outputs]``."""

    num_outputs: int = 1
    num_layers: int = 4

    @nn.compact
    def __call__(
        self,
        node_logits: Float[Array, "B N T"],
        edge_logits: Float[Array, "B E"],
        condition: Float[Array, "B C"],
    ) -> Float[Array, "B outputs"]:
        x = jnp.concatenate(
            [node_logits.reshape(node_logits.shape[0], -1), edge_logits, condition], -1
        )
        width = x.shape[-1]
        for _ in range(self.num_layers):
            x = jnp.concatenate([nn.relu(nn.Dense(width)(x)), condition], axis=-1)
        return nn.Dense(self.num_outputs)(x)
