"""The generator's form of a cell: node types ``[N]`` and target-major edges ``[E]``.

The AG-Net form (jovitalukasik/AG-Net): a cell is ``N`` nodes in topological order,
node 0 the input and the output last among the live nodes, each node one of ``T``
types (:data:`OUTPUT` and :data:`INPUT` first), and ``E = N (N - 1) / 2`` edge bits in
*target-major* order (all edges into node 1, then into node 2, ...): edge
``(src, dst)`` sits at ``dst (dst - 1) / 2 + src``, so a decoder that adds node ``dst``
emits its ``dst`` incoming edges next.

A space that AG-Net can search gives its :class:`GraphFormat` in its adapter
(:mod:`nasjax.encodings.nb201`, :mod:`~nasjax.encodings.nb101`). Everything is jittable
with fixed shapes; invalid graphs are flagged, not dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int

from nasjax.spaces._base import SearchSpace

OUTPUT, INPUT = 0, 1  # the node types every form starts with


def edge_pairs(num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(src [E], dst [E])`` of the target-major edge order."""
    pairs = [(src, dst) for dst in range(1, num_nodes) for src in range(dst)]
    src, dst = np.array(pairs, np.int32).T
    return src, dst


def to_adjacency(edges: Bool[Array, "... E"], num_nodes: int) -> Bool[Array, "... N N"]:
    """Target-major edge bits -> ``[N, N]`` adjacency (``[i, j]``: edge ``i -> j``)."""
    src, dst = edge_pairs(num_nodes)
    empty = jnp.zeros((*edges.shape[:-1], num_nodes, num_nodes), bool)
    return empty.at[..., src, dst].set(edges.astype(bool))


@dataclasses.dataclass(frozen=True)
class GraphFormat:
    """The generator's graph form of one search space (static, hashable).

    Attributes:
        space: the search space.
        num_nodes: ``N``.
        type_names: the ``T`` node types, ``output`` and ``input`` first.
        to_graph: ``archs [..., S] -> (types [..., N], edges [..., E])`` of valid
            architectures. Jittable.
        from_graph: ``(types, edges) -> (archs [..., S], valid [...])``; an invalid
            graph gives an in-range arch. Jittable.
        ticks: AG-Net's default number of generator rounds on this space.
    """

    space: SearchSpace
    num_nodes: int
    type_names: tuple[str, ...]
    to_graph: Callable[[Int[Array, "... S"]], tuple[Array, Array]]
    from_graph: Callable[[Array, Array], tuple[Int[Array, "... S"], Bool[Array, "..."]]]
    ticks: int = 30

    @property
    def num_types(self) -> int:
        """``T``."""
        return len(self.type_names)

    @property
    def num_edges(self) -> int:
        """``E = N (N - 1) / 2``."""
        return self.num_nodes * (self.num_nodes - 1) // 2
