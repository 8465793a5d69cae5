"""The BRP-NAS graph convolutional predictor (Dudziak et al., NeurIPS 2020) in flax.

A cell enters as the dense pair ``(adjacency [N, N], features [N, F])`` that
:func:`graph_inputs` builds from the space's masked ``GraphsTuple`` (the global node
last; :func:`nasjax.encodings.dense_inputs`). As in the reference
(SamsungLabs/eagle), ``adjacency[i, j] = 1`` for an edge ``i -> j`` so a node sums over
its successors, the global node reads every node slot, the identity is added and
nothing is degree-normalised. Each layer is
``A (H W) + b -> LayerNorm -> ReLU -> dropout``; the embedding is the global node's
final state. Only the global node's row of the last layer is computed (it is all the
readout uses), which saves ~30% of the arithmetic and changes no value.

Heads: ``"unary"`` (``Linear(H -> 1)``, a value per model) and ``"binary"``
(``Linear(2H -> 2)`` over a concatenated pair, log-softmax: is the first model
better?). Because the binary head is linear, ``logit_0 - logit_1`` splits into an
antisymmetric part ``s(e_i) - s(e_j)`` and a symmetric one, so :func:`scores` ranks a
whole space from one embedding per model.

Shape letters: ``B`` models, ``N`` nodes (global node last), ``F`` features, ``H``
hidden width.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from nasjax import encodings

HEADS = ("unary", "binary")


def _uniform(bound: float):
    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


class GCN(nn.Module):
    """Graph convolutions -> the global node's embedding ``[..., H]``.

    Weights and biases are drawn from ``U(+-1/sqrt(H))`` (the reference's "thomas"
    init); LayerNorm uses torch's ``eps = 1e-5``. ``dtype`` is the matmul dtype
    (``jnp.bfloat16`` on accelerators); parameters stay float32.
    """

    hidden: int = 600
    num_layers: int = 4
    dropout: float = 0.2
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(
        self,
        adjacency: Float[Array, "... N N"],
        features: Float[Array, "... N F"],
        *,
        train: bool = False,
    ) -> Float[Array, "... H"]:
        init = _uniform(1.0 / math.sqrt(self.hidden))
        x = features
        for layer in range(self.num_layers):
            weight = self.param(f"weight_{layer}", init, (x.shape[-1], self.hidden))
            bias = self.param(f"bias_{layer}", init, (self.hidden,))
            # The last layer only feeds the readout: the global node's row suffices.
            rows = adjacency[..., -1:, :] if layer == self.num_layers - 1 else adjacency
            support = jnp.matmul(x.astype(self.dtype), weight.astype(self.dtype))
            x = jnp.matmul(rows.astype(self.dtype), support).astype(jnp.float32)
            x = nn.LayerNorm(epsilon=1e-5, name=f"norm_{layer}")(x + bias)
            x = nn.Dropout(self.dropout, deterministic=not train)(nn.relu(x))
        return x[..., -1, :]


class Predictor(nn.Module):
    """A :class:`GCN` with a unary or binary head.

    ``__call__`` embeds models; ``unary`` maps embeddings to values ``[...]``;
    ``pair_logits`` maps two embeddings to the binary head's log-probabilities
    ``[..., 2]`` (index 0: the first model is better).
    """

    head: str = "binary"
    hidden: int = 600
    num_layers: int = 4
    dropout: float = 0.2
    dtype: Any = jnp.float32

    def setup(self):
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose from {HEADS}")
        self.gcn = GCN(self.hidden, self.num_layers, self.dropout, self.dtype)
        fan_in = self.hidden * (2 if self.head == "binary" else 1)
        bound = 1.0 / math.sqrt(fan_in)  # torch's default Linear init
        self.out = nn.Dense(
            2 if self.head == "binary" else 1,
            kernel_init=_uniform(bound),
            bias_init=_uniform(bound),
        )

    def __call__(self, adjacency, features, *, train: bool = False):
        return self.gcn(adjacency, features, train=train)

    def unary(self, embedding: Float[Array, "... H"]) -> Float[Array, "..."]:
        return self.out(embedding)[..., 0]

    def pair_logits(
        self, first: Float[Array, "... H"], second: Float[Array, "... H"]
    ) -> Float[Array, "... 2"]:
        return jax.nn.log_softmax(self.out(jnp.concatenate([first, second], -1)))

    def init_all(self, adjacency, features):
        """Initialises every parameter (the GCN and the head) from one example."""
        embedding = self(adjacency, features)
        if self.head == "binary":
            return self.pair_logits(embedding, embedding)
        return self.unary(embedding)


def init_params(model: Predictor, key, adjacency, features) -> dict:
    """Parameters of ``model`` for inputs shaped like one ``(adjacency, features)``."""
    return model.init(key, adjacency, features, method=Predictor.init_all)


def _head(params: dict) -> tuple[Array, Array]:
    out = params["params"]["out"]
    return out["kernel"], out["bias"]


def pair_margins(
    params: dict, first: Float[Array, "B H"], second: Float[Array, "C H"]
) -> Float[Array, "B C"]:
    """``logit_0 - logit_1`` of the binary head for every pair ``(first_b, second_c)``.

    Positive: ``first_b`` predicted better. One ``[B + C, H] x [H, 2]`` product, not
    ``B C`` concatenations; ``log_softmax`` of ``[m, 0]`` gives the pair's log-probs.
    """
    kernel, bias = _head(params)
    hidden = first.shape[-1]
    difference = kernel[:, 0] - kernel[:, 1]
    return (
        (first @ difference[:hidden])[:, None]
        + (second @ difference[hidden:])[None, :]
        + (bias[0] - bias[1])
    )


def scores(params: dict, embeddings: Float[Array, "B H"]) -> Float[Array, "B"]:
    """One score per model from the binary head's antisymmetric part (higher: better).

    With ``m(i, j) = a_i + b_j + c`` the head's margin, ``s_i = (a_i - b_i) / 2``
    satisfies ``m(i, j) - m(j, i) = 2 (s_i - s_j)``: the O(B) ranking.
    """
    kernel, _ = _head(params)
    hidden = embeddings.shape[-1]
    difference = kernel[:, 0] - kernel[:, 1]
    return embeddings @ (difference[:hidden] - difference[hidden:]) / 2.0


def comparator_ranking(
    params: dict, embeddings: Float[Array, "B H"]
) -> Int[np.ndarray, "B"]:
    """The reference's ranking: Python's ``sorted`` with the pairwise comparator.

    Host-side (``functools.cmp_to_key``, O(B log B) comparisons of
    ``m(i, j) = a_i + b_j + c``), as eagle sorts; returns each model's position in
    ascending predicted order (``B - 1`` = predicted best).
    """
    import functools

    kernel, bias = (np.asarray(x, np.float64) for x in _head(params))
    embeddings = np.asarray(embeddings, np.float64)
    hidden = embeddings.shape[-1]
    difference = kernel[:, 0] - kernel[:, 1]
    first = (embeddings @ difference[:hidden]).tolist()
    second = (embeddings @ difference[hidden:]).tolist()
    offset = float(bias[0] - bias[1])

    def compare(i, j):
        return first[i] + second[j] + offset

    order = sorted(range(len(first)), key=functools.cmp_to_key(compare))
    position = np.empty(len(order), dtype=np.int64)
    position[np.asarray(order)] = np.arange(len(order))
    return position


def graph_inputs(
    space, archs: Int[Array, "B S"]
) -> tuple[Float[Array, "B N N"], Float[Array, "B N F"]]:
    """Architectures of ``space`` -> dense GCN inputs. Jittable.

    The graphs are the space's adapter's (:func:`nasjax.encodings.adapter`):
    NAS-Bench-201 BRP-NAS's pruned op-on-node cell (9 nodes, 6 features),
    NAS-Bench-101 the pruned cell DAG (8 nodes), FBNet the chain with every layer kept
    (25 nodes; a ``skip`` that changes shape is a 1x1 conv there, so it stays a node).

    Raises:
        ValueError: a space without an adapter.
    """
    graphs = encodings.adapter(space).graphs(jnp.asarray(archs, jnp.int32))
    return encodings.dense_inputs(graphs)
