"""NAS-Bench-201 (NATS-Bench topology space): a 4-node cell, 6 edges x 5 ops.

Slot ``s`` is the op on edge ``EDGES[s] = (source, target)``, in the order the benchmark
writes its strings: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. The space's own order
is the mixed-radix :meth:`~SearchSpace.index` (slot 0 most significant); the benchmark's
order (``arch_idx`` 0..15624, NATS-Bench-TSS) is a fixed permutation of it, shipped in
``nasjax/resources/nb201_benchmark_order.npy``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int

from nasjax.spaces._base import SearchSpace

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_ARCHS = 5**6
NONE, SKIP = 0, 1
# The macro network around the cell (NAS-Bench-201's TinyNetwork): stage widths, cells
# per stage, and each dataset's classes and input resolution.
STAGE_CHANNELS = (16, 32, 64)
CELLS_PER_STAGE = 5
NUM_CLASSES = {
    "cifar10-valid": 10,
    "cifar10": 10,
    "cifar100": 100,
    "ImageNet16-120": 120,
}
RESOLUTION = {"cifar10-valid": 32, "cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}
DATASETS = tuple(NUM_CLASSES)


@dataclasses.dataclass(frozen=True)
class NB201Space(SearchSpace):
    """NAS-Bench-201: ``arch[s]`` is the index into :data:`OPS` of edge ``EDGES[s]``."""

    name: str = "nb201"
    num_choices: tuple[int, ...] = (len(OPS),) * len(EDGES)
    ops: tuple[str, ...] = OPS
    edges: tuple[tuple[int, int], ...] = EDGES

    # ------------------------------------------------------------- structure
    def is_connected(self, arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
        """True where some input-to-output path avoids ``none`` edges. Jittable.

        Exactly 341 of the 15,625 cells have no such path.
        """
        live = arch != NONE
        reach = [jnp.ones(arch.shape[:-1], bool)]  # node 0 (the input) is reached
        for node in (1, 2, 3):
            incoming = [
                reach[src] & live[..., s]
                for s, (src, dst) in enumerate(EDGES)
                if dst == node
            ]
            reach.append(functools.reduce(jnp.logical_or, incoming))
        return reach[3]

    def canonical(self, arch: Int[Array, "... S"]) -> Int[Array, "... S"]:
        """The lowest-index member of ``arch``'s isomorphism class. Jittable.

        Classes are those of NATS-Bench's ``unique_str`` (6,466 of them): ``none``
        zeroes its input, ``skip_connect`` is the identity, and the inputs summed at a
        node are unordered.
        """
        representative = jnp.asarray(_canonical_indices())[self.index(arch)]
        return self.from_index(representative)

    # ----------------------------------------------------- benchmark indexing
    def to_benchmark_index(self, arch: Int[Array, "... S"]) -> Int[Array, "..."]:
        """The NAS-Bench-201 / NATS-Bench-TSS ``arch_idx`` of ``arch``. Jittable."""
        return jnp.asarray(_benchmark_index_of())[self.index(arch)]

    def from_benchmark_index(self, index: Int[Array, "..."]) -> Int[Array, "... S"]:
        """The architecture with NAS-Bench-201 ``arch_idx`` ``index``. Jittable."""
        return self.from_index(jnp.asarray(_benchmark_order())[index])

    # ------------------------------------------------------------- string I/O
    def to_string(self, arch) -> str:
        """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, as the benchmark writes it."""
        arch = np.asarray(arch)
        if arch.shape != (6,) or not np.all((arch >= 0) & (arch < len(OPS))):
            raise ValueError(f"not a NAS-Bench-201 architecture: {arch.tolist()}")
        nodes = []
        for target in (1, 2, 3):
            parts = [
                f"{OPS[arch[s]]}~{src}"
                for s, (src, dst) in enumerate(EDGES)
                if dst == target
            ]
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    def from_string(self, text: str) -> np.ndarray:
        """Parses a NAS-Bench-201 arch string into a ``[6]`` int32 array."""
        arch = []
        try:
            nodes = text.strip().split("+")
            if len(nodes) != 3:
                raise ValueError
            for target, node in enumerate(nodes, start=1):
                parts = node.strip("|").split("|")
                if len(parts) != target:
                    raise ValueError
                for src, part in enumerate(parts):
                    op, origin = part.split("~")
                    if int(origin) != src:
                        raise ValueError
                    arch.append(OPS.index(op))
        except ValueError:
            raise ValueError(
                f"not a NAS-Bench-201 arch string: {text!r} (expected like "
                "'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                f"nor_conv_1x1~1|none~2|', ops from {OPS})"
            ) from None
        return np.asarray(arch, dtype=np.int32)


def nb201() -> NB201Space:
    """The NAS-Bench-201 search space."""
    return NB201Space()


def unique_string(arch: Sequence[int]) -> str:
    """NATS-Bench's isomorphism string (``to_unique_str(True)``). Host-side."""
    nodes = {0: "0"}
    for target in (1, 2, 3):
        terms = []
        for s, (src, dst) in enumerate(EDGES):
            if dst != target:
                continue
            op = OPS[arch[s]]
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes[target] = "+".join(sorted(terms))
    return nodes[3]


@functools.cache
def _canonical_indices() -> np.ndarray:
    """``[15625]`` int32: for each space index, the lowest index of its class."""
    space = NB201Space()
    archs = np.asarray(space.from_index(np.arange(NUM_ARCHS)))
    first_of_class: dict[str, int] = {}
    out = np.empty(NUM_ARCHS, dtype=np.int32)
    for index, arch in enumerate(archs):
        out[index] = first_of_class.setdefault(unique_string(arch), index)
    return out


@functools.cache
def _benchmark_order() -> np.ndarray:
    """``[15625]`` int32: the space index of benchmark ``arch_idx`` ``i``."""
    path = (
        importlib.resources.files("nasjax") / "resources" / "nb201_benchmark_order.npy"
    )
    with path.open("rb") as f:
        return np.load(f).astype(np.int32)


@functools.cache
def _benchmark_index_of() -> np.ndarray:
    """``[15625]`` int32: the benchmark ``arch_idx`` of space index ``i``."""
    return np.argsort(_benchmark_order()).astype(np.int32)
