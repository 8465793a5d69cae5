"""Architectures as the generator's graphs: node types ``[N]`` and edges ``[E]``.

The AG-Net form (jovitalukasik/AG-Net): a cell is ``N`` nodes in topological order,
node 0 the input and the output last among the live nodes, each node one of ``T``
types, and ``E = N (N - 1) / 2`` edge bits in *target-major* order (all edges into node
1, then into node 2, ...): edge ``(src, dst)`` sits at ``dst (dst - 1) / 2 + src``, so
a decoder that adds node ``dst`` emits its ``dst`` incoming edges next.

* NAS-Bench-201: ``N = 8`` nodes x ``T = 7`` types :data:`NB201_TYPES`; node 0 is the
  input, nodes 1..6 carry the ops of ``arch[0..5]``, node 7 is the output, and the
  edges are always the fixed op-on-node wiring of :data:`nasjax.encodings.nb201.WIRING`
  (a decoded graph is valid only with exactly those 10 edges and op types inside).
* NAS-Bench-101: ``N = 7`` nodes x ``T = 5`` types :data:`NB101_TYPES`; the pruned cell
  with its live nodes packed to the front (output last) and the rest padded with the
  ``output`` type and no edges, as AG-Net pads its NAS-Bench-101 graphs. Decoding
  truncates at the first ``output`` node and checks the official validity rule.

Everything here is jittable with fixed shapes; invalid graphs are flagged, not dropped.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int

from nasjax.encodings.nb201 import WIRING
from nasjax.spaces._base import SearchSpace
from nasjax.spaces.nb101 import EDGE_SOURCES, EDGE_TARGETS, NB101Space
from nasjax.spaces.nb201 import NB201Space

OUTPUT, INPUT = 0, 1
NB201_TYPES = (
    "output",
    "input",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "none",
)
NB101_TYPES = ("output", "input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3")
# Op index of the space -> node type, and back (-1: not an op type).
_NB201_OP_TYPE = np.array([6, 5, 2, 3, 4], np.int32)  # none, skip, 1x1, 3x3, pool
_NB201_TYPE_OP = np.array([-1, -1, 2, 3, 4, 1, 0], np.int32)
_NB101_OP_TYPE = np.array([3, 2, 4], np.int32)  # conv3x3, conv1x1, maxpool
_NB101_TYPE_OP = np.array([-1, -1, 1, 0, 2], np.int32)


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


def _nb201_edges() -> np.ndarray:
    src, dst = edge_pairs(8)
    wiring = set(WIRING)
    return np.array([(s, d) in wiring for s, d in zip(src, dst)])


@dataclasses.dataclass(frozen=True)
class GraphFormat:
    """The generator's graph form of one search space (static, hashable).

    Attributes:
        space: the search space.
        num_nodes: ``N``.
        type_names: the ``T`` node types, ``output`` and ``input`` first.
    """

    space: SearchSpace
    num_nodes: int
    type_names: tuple[str, ...]

    @property
    def num_types(self) -> int:
        """``T``."""
        return len(self.type_names)

    @property
    def num_edges(self) -> int:
        """``E = N (N - 1) / 2``."""
        return self.num_nodes * (self.num_nodes - 1) // 2

    def to_graph(
        self, archs: Int[Array, "... S"]
    ) -> tuple[Int[Array, "... N"], Bool[Array, "... E"]]:
        """``(types [..., N], edges [..., E])`` of valid architectures. Jittable."""
        archs = jnp.asarray(archs, jnp.int32)
        if isinstance(self.space, NB201Space):
            batch = archs.shape[:-1]
            types = jnp.concatenate(
                [
                    jnp.full((*batch, 1), INPUT, jnp.int32),
                    jnp.asarray(_NB201_OP_TYPE)[archs],
                    jnp.full((*batch, 1), OUTPUT, jnp.int32),
                ],
                axis=-1,
            )
            edges = jnp.broadcast_to(jnp.asarray(_nb201_edges()), (*batch, 28))
            return types, edges
        return _nb101_to_graph(self.space, archs, self.num_nodes)

    def from_graph(
        self, types: Int[Array, "... N"], edges: Bool[Array, "... E"]
    ) -> tuple[Int[Array, "... S"], Bool[Array, "..."]]:
        """``(archs [..., S], valid [...])``; invalid graphs give an in-range arch.

        Jittable. NAS-Bench-201: valid iff node 0 is the input, node 7 the output,
        nodes 1..6 op types and the edges exactly the fixed wiring. NAS-Bench-101: the
        graph is cut after its first ``output`` node; valid iff the nodes between are
        op types and the cell passes :meth:`~nasjax.spaces.NB101Space.is_valid`.
        """
        types = jnp.asarray(types, jnp.int32)
        edges = jnp.asarray(edges, bool)
        if isinstance(self.space, NB201Space):
            inner = types[..., 1:-1]
            ops = jnp.asarray(_NB201_TYPE_OP)[inner]
            valid = (
                (types[..., 0] == INPUT)
                & (types[..., -1] == OUTPUT)
                & jnp.all(ops >= 0, axis=-1)
                & jnp.all(edges == jnp.asarray(_nb201_edges()), axis=-1)
            )
            return jnp.maximum(ops, 0), valid
        return _nb101_from_graph(self.space, types, edges, self.num_nodes)


def _nb101_to_graph(space: NB101Space, archs, num_nodes: int):
    adjacency, live = space.prune(archs)  # [..., 7, 7], [..., 7]
    position = jnp.cumsum(live, axis=-1) - 1  # new index of each live node
    move = live[..., :, None] & (position[..., :, None] == jnp.arange(num_nodes))
    move = move.astype(jnp.int32)  # [..., old, new]
    packed = jnp.einsum(
        "...ij,...ik,...jl->...kl", adjacency.astype(jnp.int32), move, move
    )
    src, dst = edge_pairs(num_nodes)
    edges = packed[..., src, dst] > 0
    inner_types = jnp.asarray(_NB101_OP_TYPE)[archs[..., : num_nodes - 2]]
    old_types = jnp.concatenate(
        [
            jnp.full((*archs.shape[:-1], 1), INPUT, jnp.int32),
            inner_types,
            jnp.full((*archs.shape[:-1], 1), OUTPUT, jnp.int32),
        ],
        axis=-1,
    )
    # Padding rows of ``move`` are all zero: they take type 0, the output type.
    types = jnp.einsum("...i,...ik->...k", old_types, move)
    return types, edges


def _nb101_from_graph(space: NB101Space, types, edges, num_nodes: int):
    is_output = (types == OUTPUT) & (jnp.arange(num_nodes) > 0)
    cut = jnp.argmax(is_output, axis=-1)  # first output; 0 if none
    has_output = jnp.any(is_output, axis=-1)
    node = jnp.arange(num_nodes)
    inner = (node >= 1) & (node < cut[..., None])  # [..., N]
    op = jnp.asarray(_NB101_TYPE_OP)[types]
    ops_ok = jnp.all(~inner | (op >= 0), axis=-1)
    # Generated node q -> cell node: q itself before the cut, the output (6) at it.
    target = jnp.where(node == cut[..., None], num_nodes - 1, node)
    kept = node <= cut[..., None]
    move = (
        kept[..., :, None] & (target[..., :, None] == jnp.arange(num_nodes))
    ).astype(jnp.int32)
    adjacency = to_adjacency(edges, num_nodes).astype(jnp.int32)
    cell = jnp.einsum("...ij,...ik,...jl->...kl", adjacency, move, move) > 0
    cell_ops = jnp.where(inner, jnp.maximum(op, 0), 0)[..., 1 : num_nodes - 1]
    archs = jnp.concatenate(
        [cell_ops, cell[..., EDGE_SOURCES, EDGE_TARGETS].astype(jnp.int32)], axis=-1
    )
    valid = (types[..., 0] == INPUT) & has_output & ops_ok & space.is_valid(archs)
    return archs, valid


def graph_format(space: SearchSpace) -> GraphFormat:
    """The generator's graph form of ``space`` (NAS-Bench-201 or NAS-Bench-101).

    Raises:
        ValueError: any other space.
    """
    if isinstance(space, NB201Space):
        return GraphFormat(space, 8, NB201_TYPES)
    if isinstance(space, NB101Space):
        return GraphFormat(space, 7, NB101_TYPES)
    raise ValueError(
        f"the AG-Net generator decodes nb201 and nb101 cells, not {space.name!r}"
    )
