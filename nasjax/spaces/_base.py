"""The protocol every search space follows.

An architecture is a fixed-size integer array ``arch: Int[Array, "S"]`` with one entry
per *slot*; slot ``s`` takes a value in ``[0, num_choices[s])``. A space is a frozen,
hashable dataclass (so it can be closed over or passed as a static argument) whose
methods are pure and jittable unless their docstring says "Host-side."

Subclasses set ``name`` and ``num_choices`` and implement the string I/O; spaces with
constraints (NAS-Bench-101) override :meth:`is_valid`, and spaces with isomorphic
encodings override :meth:`canonical`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Int, PRNGKeyArray


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Base class: a product of categorical slots, optionally constrained.

    Attributes:
        name: short name used by the CLI and tables (``"nb201"``, ...).
        num_choices: number of options of each slot, length ``S``.
    """

    name: str
    num_choices: tuple[int, ...]

    # ----------------------------------------------------------------- shapes
    @property
    def num_slots(self) -> int:
        """``S``, the length of an architecture array."""
        return len(self.num_choices)

    @property
    def num_neighbours(self) -> int:
        """``E``, the number of one-edit neighbours of any architecture."""
        return sum(c - 1 for c in self.num_choices)

    @property
    def size(self) -> int:
        """Number of encodings (valid or not): ``prod(num_choices)``."""
        return math.prod(self.num_choices)

    # --------------------------------------------------------------- validity
    def in_range(self, arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
        """True where every slot holds a value in ``[0, num_choices[s])``. Jittable."""
        upper = jnp.asarray(self.num_choices, dtype=arch.dtype)
        return jnp.all((arch >= 0) & (arch < upper), axis=-1)

    def is_valid(self, arch: Int[Array, "... S"]) -> Bool[Array, "..."]:
        """True where ``arch`` is a valid architecture of the space. Jittable."""
        return self.in_range(arch)

    def canonical(self, arch: Int[Array, "... S"]) -> Int[Array, "... S"]:
        """One representative per isomorphism class. Identity by default. Jittable."""
        return arch

    # --------------------------------------------------------------- sampling
    def _uniform(self, key: PRNGKeyArray, shape: tuple[int, ...]) -> Int[Array, "..."]:
        upper = jnp.asarray(self.num_choices, dtype=jnp.int32)
        u = jax.random.uniform(key, (*shape, self.num_slots))
        return jnp.minimum((u * upper).astype(jnp.int32), upper - 1)

    def sample(self, key: PRNGKeyArray, num: int) -> Int[Array, "P S"]:
        """``num`` valid architectures drawn uniformly (by rejection). Jittable."""
        if type(self).is_valid is SearchSpace.is_valid:  # unconstrained: no rejection
            return self._uniform(key, (num,))

        def draw_one(key):
            def cond(carry):
                return ~self.is_valid(carry[1])

            def body(carry):
                key, _ = carry
                key, sub = jax.random.split(key)
                return key, self._uniform(sub, ())

            key, sub = jax.random.split(key)
            return jax.lax.while_loop(cond, body, (key, self._uniform(sub, ())))[1]

        return jax.vmap(draw_one)(jax.random.split(key, num))

    # ------------------------------------------------------------ local moves
    def _neighbour_moves(self) -> tuple[np.ndarray, np.ndarray]:
        """Static ``(slot, shift)`` of each of the ``E`` one-edit moves."""
        slots = np.concatenate(
            [np.full(c - 1, s) for s, c in enumerate(self.num_choices)]
        )
        shifts = np.concatenate([np.arange(1, c) for c in self.num_choices])
        return slots.astype(np.int32), shifts.astype(np.int32)

    def neighbours(
        self, arch: Int[Array, "S"]
    ) -> tuple[Int[Array, "E S"], Bool[Array, "E"]]:
        """All one-edit neighbours (one slot changed) and which of them are valid.

        Jittable; the count ``E = num_neighbours`` is static, invalid neighbours are
        masked rather than dropped.
        """
        slots, shifts = self._neighbour_moves()
        upper = np.asarray(self.num_choices, dtype=np.int32)[slots]
        values = (arch[slots] + shifts) % upper
        archs = (
            jnp.tile(arch, (slots.size, 1)).at[np.arange(slots.size), slots].set(values)
        )
        return archs, self.is_valid(archs)

    def mutate(self, key: PRNGKeyArray, arch: Int[Array, "S"]) -> Int[Array, "S"]:
        """A uniformly chosen valid one-edit neighbour (``arch`` itself if none).

        Jittable; vmap over ``(key, arch)``.
        """
        if type(self).is_valid is SearchSpace.is_valid:  # unconstrained: direct draw
            slots, shifts = self._neighbour_moves()
            move = jax.random.randint(key, (), 0, slots.size)
            slot = jnp.asarray(slots)[move]
            upper = jnp.asarray(self.num_choices, dtype=arch.dtype)[slot]
            return arch.at[slot].set((arch[slot] + jnp.asarray(shifts)[move]) % upper)
        archs, valid = self.neighbours(arch)
        pick = jax.random.categorical(key, jnp.where(valid, 0.0, -jnp.inf))
        return jnp.where(jnp.any(valid), archs[pick], arch)

    def crossover(
        self, key: PRNGKeyArray, parent_a: Int[Array, "S"], parent_b: Int[Array, "S"]
    ) -> Int[Array, "S"]:
        """Uniform crossover; falls back to ``parent_a`` if the child is invalid.

        Jittable; vmap over ``(key, parent_a, parent_b)``.
        """
        take_a = jax.random.bernoulli(key, 0.5, (self.num_slots,))
        child = jnp.where(take_a, parent_a, parent_b)
        return jnp.where(self.is_valid(child), child, parent_a)

    # ------------------------------------------------------------ enumeration
    def index(self, arch: Int[Array, "... S"]) -> Int[Array, "..."]:
        """Mixed-radix index of an encoding, slot 0 most significant. Jittable.

        Only for spaces with fewer than 2**31 encodings.
        """
        if self.size >= 2**31:
            raise ValueError(
                f"{self.name} has {self.size} encodings: too many to index"
            )
        strides = np.cumprod((1,) + self.num_choices[:0:-1])[::-1].astype(np.int32)
        return jnp.sum(arch * strides, axis=-1)

    def from_index(self, index: Int[Array, "..."]) -> Int[Array, "... S"]:
        """Inverse of :meth:`index`. Jittable."""
        index = jnp.asarray(index)
        digits = []
        for c in reversed(self.num_choices):
            digits.append(index % c)
            index = index // c
        return jnp.stack(digits[::-1], axis=-1).astype(jnp.int32)

    def enumerate(self) -> Int[Array, "A S"]:
        """Every valid architecture, in :meth:`index` order. Host-side."""
        if self.size > 10**7:
            raise ValueError(f"{self.name} has {self.size} encodings: too many to list")
        archs = self.from_index(jnp.arange(self.size))
        return archs[np.asarray(self.is_valid(archs))]

    # ------------------------------------------------------------- string I/O
    def to_string(self, arch: Int[Array, "S"] | Sequence[int]) -> str:
        """The architecture in the benchmark's own text format. Host-side."""
        raise NotImplementedError

    def from_string(self, text: str) -> np.ndarray:
        """Parses :meth:`to_string`'s format; ``ValueError`` if malformed. Host-side."""
        raise NotImplementedError

    def from_strings(self, texts: Sequence[str]) -> np.ndarray:
        """Parses many strings into an ``[A, S]`` int32 array. Host-side."""
        return np.stack([self.from_string(t) for t in texts]).astype(np.int32)
