"""The path encoding (White et al., BANANAS, AAAI 2021): which input-to-output paths,
read as sequences of ops, a cell contains.

A feature is one op sequence; features are ordered by path length, then by the ops
read from the input side as a base-``K`` number with the first op least significant
(naszilla's order), so the first ``cutoff`` features are the shortest paths
(BANANAS's truncated path encoding).

* NAS-Bench-201: the cell's four paths ``0->3``, ``0->1->3``, ``0->2->3`` and
  ``0->1->2->3`` with the ops on their edges, every op counted (``none`` too, as
  naszilla does): ``5 + 25 + 125 = 155`` features, at most 4 set.
* NAS-Bench-101: the paths of the pruned cell through its inner nodes' ops, the
  empty path being ``input -> output``: ``1 + 3 + 9 + 27 + 81 + 243 = 364``
  features.

Each space's adapter names its path function; :func:`encode` looks it up.
Everything is jittable and fixed-shape; batch dimensions broadcast.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from nasjax.encodings._adapter import ADAPTERS, adapter
from nasjax.spaces._base import SearchSpace
from nasjax.spaces.nb101 import NUM_INNER, NUM_NODES, NB101Space
from nasjax.spaces.nb101 import OPS as NB101_OPS
from nasjax.spaces.nb201 import OPS as NB201_OPS

# NAS-Bench-201's paths as edge slots from the input (naszilla's path blueprints).
NB201_PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))
NB201_NUM_OPS = len(NB201_OPS)
NB101_NUM_OPS = len(NB101_OPS)
NB101_LONGEST = NUM_INNER


def _offset(length: int, num_ops: int, shortest: int) -> int:
    """Index of the first feature of paths with ``length`` ops."""
    return sum(num_ops**n for n in range(shortest, length))


NB201_FEATURES = _offset(4, NB201_NUM_OPS, 1)  # 155
NB101_FEATURES = _offset(NB101_LONGEST + 1, NB101_NUM_OPS, 0)  # 364


def nb201(archs: Int[Array, "... 6"]) -> Float[Array, "... 155"]:
    """NAS-Bench-201 cells -> their path encoding. Jittable."""
    archs = jnp.asarray(archs, jnp.int32)
    features = jnp.zeros((*archs.shape[:-1], NB201_FEATURES), jnp.float32)
    for path in NB201_PATHS:
        index = _offset(len(path), NB201_NUM_OPS, 1) + sum(
            archs[..., slot] * NB201_NUM_OPS**j for j, slot in enumerate(path)
        )
        features = features + (
            index[..., None] == jnp.arange(features.shape[-1])
        ).astype(jnp.float32)
    return jnp.minimum(features, 1.0)


@functools.cache
def _nb101_append() -> np.ndarray:
    """``[K, F, F]``: ``[op, i, j] = 1`` when path ``j`` is path ``i`` then ``op``."""
    size = NB101_FEATURES
    append = np.zeros((NB101_NUM_OPS, size, size), np.float32)
    for length in range(NB101_LONGEST):
        start = _offset(length, NB101_NUM_OPS, 0)
        target = _offset(length + 1, NB101_NUM_OPS, 0)
        for digits in range(NB101_NUM_OPS**length):
            for op in range(NB101_NUM_OPS):
                longer = target + digits + op * NB101_NUM_OPS**length
                append[op, start + digits, longer] = 1.0
    return append


def nb101(archs: Int[Array, "... 26"]) -> Float[Array, "... 364"]:
    """NAS-Bench-101 cells -> the path encoding of their pruned cell. Jittable.

    A cell whose input does not reach its output has no paths (all zeros).
    """
    archs = jnp.asarray(archs, jnp.int32)
    adjacency, _ = NB101Space().prune(archs)
    adjacency = adjacency.astype(jnp.float32)
    append = jnp.asarray(_nb101_append())
    size = append.shape[-1]
    start = jnp.zeros((*archs.shape[:-1], size), jnp.float32).at[..., 0].set(1.0)
    reached = [start]  # paths from the input to each node (nodes in topological order)
    for node in range(1, NUM_NODES):
        incoming = sum(
            adjacency[..., source, node, None] * reached[source]
            for source in range(node)
        )
        if node < NUM_NODES - 1:
            extended = jnp.einsum("...i,kij->...kj", incoming, append)  # [..., K, F]
            op = archs[..., node - 1, None, None]
            incoming = jnp.take_along_axis(extended, op, axis=-2)[..., 0, :]
        reached.append(jnp.minimum(incoming, 1.0))
    return reached[-1]


def num_features(space: SearchSpace | str) -> int:
    """Length of the full path encoding of a space (155 nb201, 364 nb101).

    Raises:
        ValueError: a space whose adapter has no path encoding.
    """
    found = adapter(space)
    if found.path is None:
        with_path = sorted(n for n, a in ADAPTERS.items() if a.path is not None)
        raise ValueError(
            f"no path encoding for search space {found.name!r}; it exists for "
            f"{', '.join(with_path)}"
        )
    return found.path_features


def encode(
    space: SearchSpace | str, archs: Int[Array, "... S"], *, cutoff: int | None = None
) -> Float[Array, "... F"]:
    """The path encoding of ``archs``, truncated to its first ``cutoff`` features.

    Args:
        space: the space (or its name) whose adapter has a path encoding.
        archs: architectures of that space.
        cutoff: keep the ``cutoff`` shortest-path features (None: all).

    Returns:
        ``[..., F]`` 0/1 floats, ``F = cutoff`` or :func:`num_features`.
    """
    size = num_features(space)
    name = adapter(space).name
    if cutoff is not None and not 1 <= cutoff <= size:
        raise ValueError(f"cutoff must be in 1..{size} for {name}, got {cutoff}")
    features = adapter(space).path(archs)
    return features if cutoff is None else features[..., :cutoff]
