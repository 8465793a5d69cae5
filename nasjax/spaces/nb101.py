"""NAS-Bench-101: a 7-node cell DAG, 5 inner ops x 3 choices and 21 edge bits.

Node 0 is the cell input and node 6 its output; inner nodes 1..5 each hold one of
:data:`OPS`. An architecture is an int32 array of ``S = 26`` slots:

* ``arch[0:5]``: the op index (into :data:`OPS`) of nodes 1..5;
* ``arch[5:26]``: the upper-triangular adjacency bits, ``arch[5 + e]`` is the edge
  ``EDGES[e] = (source, target)`` in ``np.triu_indices(7, k=1)`` (row-major) order.

Validity is the official ``ModelSpec`` + ``NASBench._check_spec`` rule: after pruning
every node off all input-to-output paths, the input must still reach the output and
the pruned graph may have at most 9 edges. Many encodings describe the same cell
(pruned nodes, isomorphic relabellings); :meth:`NB101Space.canonical` picks one
representative per class, and :meth:`NB101Space.graph_hash` reproduces the
benchmark's own module hash (``nasbench/lib/graph_util.py::hash_module``).

String format (:meth:`NB101Space.to_string`), the two text fields of the official
``nasbench_*.tfrecord`` records joined by ``|``: the ``V * V`` digits of the
row-major adjacency matrix, then the ``V`` comma-separated ops including ``input``
and ``output``. :meth:`~NB101Space.to_string` always writes ``V = 7``; parsing
accepts any ``2 <= V <= 7`` (the benchmark stores pruned cells with fewer nodes) and
pads with unused nodes, so the chain input -> conv1x1 -> output can be written::

    010001000|input,conv1x1-bn-relu,output
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int

from nasjax.spaces._base import SearchSpace

OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT, OUTPUT = "input", "output"
NUM_NODES = 7
NUM_INNER = NUM_NODES - 2
MAX_EDGES = 9
EDGE_SOURCES, EDGE_TARGETS = (a.astype(np.int32) for a in np.triu_indices(NUM_NODES, 1))
EDGES = tuple(zip(EDGE_SOURCES.tolist(), EDGE_TARGETS.tolist()))
NUM_EDGES = len(EDGES)  # 21


def _adjacency(arch: Int[Array, "... S"]) -> Bool[Array, "... 7 7"]:
    """The ``[7, 7]`` adjacency (``[i, j]``: edge ``i -> j``) of an encoding."""
    bits = arch[..., NUM_INNER:] == 1
    empty = jnp.zeros((*arch.shape[:-1], NUM_NODES, NUM_NODES), dtype=bool)
    return empty.at[..., EDGE_SOURCES, EDGE_TARGETS].set(bits)


def _reach(
    adjacency: Bool[Array, "... 7 7"], *, backward: bool
) -> Bool[Array, "... 7"]:
    """Nodes reachable from the input (or, ``backward``, reaching the output)."""
    node = NUM_NODES - 1 if backward else 0
    reached = jnp.broadcast_to(jnp.arange(NUM_NODES) == node, adjacency.shape[:-1])
    step = jnp.swapaxes(adjacency, -1, -2) if backward else adjacency
    for _ in range(NUM_NODES - 1):
        reached = reached | jnp.any(step & reached[..., :, None], axis=-2)
    return reached


@functools.cache
def _inner_permutations() -> np.ndarray:
    """``[120, 7]``: every relabelling ``new -> old`` that fixes input and output."""
    perms = np.array(list(itertools.permutations(range(1, NUM_NODES - 1))), np.int32)
    ends = np.ones((len(perms), 1), np.int32)
    return np.concatenate([0 * ends, perms, (NUM_NODES - 1) * ends], axis=1)


def _pack(arch: Int[Array, "... S"]) -> Int[Array, "..."]:
    """An int32 key whose order is the lexicographic order of in-range encodings."""
    op_strides = 3 ** np.arange(NUM_INNER - 1, -1, -1, dtype=np.int32)
    edge_strides = 2 ** np.arange(NUM_EDGES - 1, -1, -1, dtype=np.int32)
    ops = jnp.sum(arch[..., :NUM_INNER] * op_strides, axis=-1)  # < 3**5
    edges = jnp.sum(arch[..., NUM_INNER:] * edge_strides, axis=-1)  # < 2**21
    return ops * 2**NUM_EDGES + edges  # < 3**5 * 2**21 < 2**31


def _in_range(arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
    upper = np.array((len(OPS),) * NUM_INNER + (2,) * NUM_EDGES, dtype=np.int32)
    return jnp.all((arch >= 0) & (arch < upper), axis=-1)


@jax.jit
def _prune(
    arch: Int[Array, "... S"],
) -> tuple[Bool[Array, "... 7 7"], Bool[Array, "... 7"]]:
    adjacency = _adjacency(arch)
    node_mask = _reach(adjacency, backward=False) & _reach(adjacency, backward=True)
    live = adjacency & node_mask[..., :, None] & node_mask[..., None, :]
    return live, node_mask


@jax.jit
def _is_valid(arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
    adjacency, node_mask = _prune(arch)
    num_edges = jnp.sum(adjacency, axis=(-2, -1))
    return _in_range(arch) & node_mask[..., -1] & (num_edges <= MAX_EDGES)


def _canonical_one(arch: Int[Array, "S"]) -> Int[Array, "S"]:
    adjacency, node_mask = _prune(arch)
    ops = jnp.where(node_mask[1:-1], arch[:NUM_INNER], 0)
    ops = jnp.concatenate([jnp.array([-1]), ops, jnp.array([-2])])
    perms = jnp.asarray(_inner_permutations())  # [120, 7] new -> old
    permuted = adjacency[perms[:, :, None], perms[:, None, :]]  # [120, 7, 7]
    lower = np.tril(np.ones((NUM_NODES, NUM_NODES), bool))
    upper_triangular = ~jnp.any(permuted & lower, axis=(-2, -1))
    candidates = jnp.concatenate(
        [ops[perms][:, 1:-1], permuted[:, EDGE_SOURCES, EDGE_TARGETS]], axis=-1
    ).astype(jnp.int32)
    keys = jnp.where(upper_triangular, _pack(candidates), jnp.iinfo(jnp.int32).max)
    best = candidates[jnp.argmin(keys)]
    return jnp.where(_in_range(arch) & node_mask[-1], best, arch)


@jax.jit
def _canonical(arch: Int[Array, "... S"]) -> Int[Array, "... S"]:
    flat = arch.reshape(-1, arch.shape[-1])
    return jax.vmap(_canonical_one)(flat).reshape(arch.shape)


def _prune_host(arch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NumPy :func:`_prune` of one in-range encoding (no dispatch cost). Host-side."""
    adjacency = np.zeros((NUM_NODES, NUM_NODES), dtype=bool)
    adjacency[EDGE_SOURCES, EDGE_TARGETS] = np.asarray(arch)[NUM_INNER:] == 1
    forward = np.arange(NUM_NODES) == 0
    backward = np.arange(NUM_NODES) == NUM_NODES - 1
    for _ in range(NUM_NODES - 1):
        forward = forward | np.any(adjacency & forward[:, None], axis=0)
        backward = backward | np.any(adjacency & backward[None, :], axis=1)
    node_mask = forward & backward
    return adjacency & node_mask[:, None] & node_mask[None, :], node_mask


@dataclasses.dataclass(frozen=True)
class NB101Space(SearchSpace):
    """NAS-Bench-101: ``arch = [op_1..op_5, edge bits in EDGES order]`` (``S = 26``)."""

    name: str = "nb101"
    num_choices: tuple[int, ...] = (len(OPS),) * NUM_INNER + (2,) * NUM_EDGES
    ops: tuple[str, ...] = OPS
    edges: tuple[tuple[int, int], ...] = EDGES

    # ------------------------------------------------------------- structure
    def adjacency(self, arch: Int[Array, "... S"]) -> Bool[Array, "... 7 7"]:
        """The unpruned ``[7, 7]`` adjacency matrix. Jittable."""
        return _adjacency(jnp.asarray(arch))

    def prune(
        self, arch: Int[Array, "... S"]
    ) -> tuple[Bool[Array, "... 7 7"], Bool[Array, "... 7"]]:
        """The cell without nodes off every input-to-output path. Jittable.

        As the official ``ModelSpec._prune``, but node slots are masked instead of
        deleted: ``node_mask[v]`` says whether node ``v`` lies on some input-to-output
        path, and the returned adjacency keeps only edges between such nodes. If the
        input does not reach the output, every node is masked (an invalid cell).

        Returns:
            ``(adjacency [..., 7, 7], node_mask [..., 7])``.
        """
        return _prune(jnp.asarray(arch, dtype=jnp.int32))

    def num_pruned_edges(self, arch: Int[Array, "... S"]) -> Int[Array, "..."]:
        """Number of edges left after :meth:`prune`. Jittable."""
        adjacency, _ = self.prune(arch)
        return jnp.sum(adjacency, axis=(-2, -1))

    def is_valid(self, arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
        """In range, input reaches output, at most 9 edges after pruning. Jittable."""
        return _is_valid(jnp.asarray(arch, dtype=jnp.int32))

    def canonical(self, arch: Int[Array, "... S"]) -> Int[Array, "... S"]:
        """One representative per isomorphism class of pruned cells. Jittable.

        Two connected, in-range encodings get the same canonical form iff their
        pruned graphs are isomorphic (nodes labelled by op, input and output). The
        form: prune, give pruned nodes op 0 and no edges, then take the
        lexicographically smallest encoding over the 120 relabellings of the inner
        nodes that keep the adjacency upper-triangular. Out-of-range or disconnected
        encodings are returned unchanged.
        """
        return _canonical(jnp.asarray(arch, dtype=jnp.int32))

    # ------------------------------------------------------- official specs
    def to_spec(
        self, arch: Int[Array, "S"] | Sequence[int], *, prune: bool = False
    ) -> tuple[np.ndarray, list[str]]:
        """The official ``(matrix, ops)`` form of ``arch``. Host-side.

        Args:
            arch: one architecture.
            prune: delete nodes off every input-to-output path, as ``ModelSpec``
                does (the result then has ``V <= 7`` nodes).

        Returns:
            ``matrix``: ``[V, V]`` int upper-triangular 0/1; ``ops``: ``V`` names,
            ``"input"`` first and ``"output"`` last.

        Raises:
            ValueError: ``arch`` is not in range, or ``prune`` and it is disconnected.
        """
        arch = self._check(arch)
        matrix = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int64)
        matrix[EDGE_SOURCES, EDGE_TARGETS] = arch[NUM_INNER:]
        ops = [INPUT, *(OPS[i] for i in arch[:NUM_INNER]), OUTPUT]
        if prune:
            _, node_mask = _prune_host(arch)
            if not node_mask[-1]:
                raise ValueError(f"NAS-Bench-101 cell has no input-output path: {arch}")
            keep = np.flatnonzero(node_mask)
            matrix = matrix[np.ix_(keep, keep)]
            ops = [ops[v] for v in keep]
        return matrix, ops

    def from_spec(self, matrix, ops: Sequence[str]) -> np.ndarray:
        """The ``[26]`` int32 encoding of an official ``(matrix, ops)`` spec. Host-side.

        ``matrix`` may have ``2 <= V <= 7`` nodes; inner nodes keep their positions,
        the output moves to node 6, and the missing nodes ``V-1..5`` are unused
        (op 0, no edges), so the cell is the same after pruning.

        Raises:
            ValueError: not square, not upper-triangular 0/1, wrong ops or length.
        """
        matrix = np.asarray(matrix)
        ops = list(ops)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"NAS-Bench-101 matrix must be square, got {matrix.shape}")
        num = matrix.shape[0]
        if not 2 <= num <= NUM_NODES:
            raise ValueError(f"NAS-Bench-101 cells have 2..7 nodes, got {num}")
        if len(ops) != num:
            raise ValueError(f"{len(ops)} ops for a {num}-node matrix")
        if not np.all((matrix == 0) | (matrix == 1)):
            raise ValueError("NAS-Bench-101 matrix entries must be 0 or 1")
        if np.any(np.tril(matrix)):
            raise ValueError("NAS-Bench-101 matrix must be upper triangular")
        if ops[0] != INPUT or ops[-1] != OUTPUT:
            raise ValueError(f"ops must start with {INPUT!r} and end with {OUTPUT!r}")
        unknown = [op for op in ops[1:-1] if op not in OPS]
        if unknown:
            raise ValueError(f"unknown NAS-Bench-101 ops {unknown}; choose from {OPS}")
        slot = list(range(num - 1)) + [NUM_NODES - 1]  # old node -> new node
        full = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int32)
        full[np.ix_(slot, slot)] = matrix
        inner = [OPS.index(op) for op in ops[1:-1]] + [0] * (NUM_NODES - num)
        edges = full[EDGE_SOURCES, EDGE_TARGETS]
        return np.concatenate([inner, edges]).astype(np.int32)

    def graph_hash(self, arch: Int[Array, "S"] | Sequence[int]) -> str:
        """The official NAS-Bench-101 module hash (the key of its data). Host-side.

        ``ModelSpec(matrix, ops).hash_spec(available_ops)``: prune, label the inner
        nodes by op index, the input ``-1`` and the output ``-2``, and run
        ``graph_util.hash_module`` (an MD5 Weisfeiler-Lehman fingerprint).

        Raises:
            ValueError: ``arch`` is out of range or its input does not reach the output.
        """
        matrix, ops = self.to_spec(arch, prune=True)
        labels = [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]
        return hash_module(matrix, labels)

    # ------------------------------------------------------------- string I/O
    def to_string(self, arch: Int[Array, "S"] | Sequence[int]) -> str:
        """``"<49 matrix digits>|input,op,...,output"`` (see the module docstring)."""
        matrix, ops = self.to_spec(arch)
        return "".join(str(int(v)) for v in matrix.reshape(-1)) + "|" + ",".join(ops)

    def from_string(self, text: str) -> np.ndarray:
        """Parses :meth:`to_string`'s format (``2 <= V <= 7``) into ``[26]`` int32."""
        expected = (
            "expected '<V*V digits of the adjacency matrix>|input,<op>,...,output' "
            f"with ops from {OPS}"
        )
        parts = text.strip().split("|")
        if len(parts) != 2:
            raise ValueError(f"not a NAS-Bench-101 string: {text!r}; {expected}")
        digits, ops = parts[0].strip(), [op.strip() for op in parts[1].split(",")]
        num = len(ops)
        if len(digits) != num * num or not set(digits) <= {"0", "1"}:
            raise ValueError(
                f"not a NAS-Bench-101 string: {text!r}: the matrix needs {num * num} "
                f"0/1 digits for {num} ops; {expected}"
            )
        matrix = np.array([int(d) for d in digits], dtype=np.int32).reshape(num, num)
        try:
            return self.from_spec(matrix, ops)
        except ValueError as error:
            raise ValueError(f"not a NAS-Bench-101 string: {text!r}: {error}") from None

    def _check(self, arch) -> np.ndarray:
        arch = np.asarray(arch)
        upper = np.asarray(self.num_choices)
        if arch.shape != upper.shape or not np.all((arch >= 0) & (arch < upper)):
            raise ValueError(f"not a NAS-Bench-101 architecture: {arch.tolist()}")
        return arch.astype(np.int32)


def nb101() -> NB101Space:
    """The NAS-Bench-101 search space."""
    return NB101Space()


def hash_module(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """NAS-Bench-101's ``graph_util.hash_module``, reproduced exactly. Host-side.

    Args:
        matrix: ``[V, V]`` upper-triangular 0/1 adjacency (already pruned).
        labels: ``V`` int labels (``-1`` input, op index, ``-2`` output).

    Returns:
        The 32-hex-digit MD5 fingerprint the benchmark uses as its key.
    """
    matrix = np.asarray(matrix)
    num = matrix.shape[0]
    in_edges = [int(v) for v in np.sum(matrix, axis=0)]
    out_edges = [int(v) for v in np.sum(matrix, axis=1)]
    labels = [int(v) for v in labels]
    if not len(in_edges) == len(out_edges) == len(labels):
        raise ValueError(f"{len(labels)} labels for a {num}-node matrix")
    hashes = [_md5(str(h)) for h in zip(out_edges, in_edges, labels)]
    for _ in range(num):
        hashes = [
            _md5(
                "".join(sorted(hashes[w] for w in range(num) if matrix[w, v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(num) if matrix[v, w]))
                + "|"
                + hashes[v]
            )
            for v in range(num)
        ]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
