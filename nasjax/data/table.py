"""Benchmark tables: pytrees of arrays queried by architecture inside ``jit``.

A :class:`Table` holds two kinds of column:

* **row columns** ``Float[A]``: one value per row of ``archs`` (``[A, S]``, sorted
  lexicographically). A query finds the row by binary search; an architecture that is
  not in the table, or a missing value, comes back as NaN, never as a neighbour's row.
* **additive columns** (:class:`AdditiveColumn`): a per-slot cost ``[S, K]`` summed
  over the slots plus a constant, as HW-NAS-Bench builds FBNet costs from its block
  lookup table. Defined for every in-range architecture.

Column names are ``"{dataset}/{metric}"`` (``"cifar100/valid_acc"``,
``"cifar10/edgegpu_latency"``) or ``"{source}/{metric}"`` for dataset-free sources
(``"help/titan_rtx_256"``). A metric whose name contains ``acc`` is higher-is-better;
every other metric (latency, energy, params, FLOPs) is lower-is-better.

The table is a pytree: pass it to jitted functions as an argument (a closed-over table
is baked into the compiled program as a constant).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from nasjax.spaces._base import SearchSpace

DENSE_INDEX_LIMIT = 2**22


class AdditiveColumn(NamedTuple):
    """A cost that is a sum over slots: ``offset + sum_s per_slot[s, arch[s]]``."""

    per_slot: Float[Array, "S K"]
    offset: Float[Array, ""]


def higher_is_better(column: str) -> bool:
    """Whether larger values of ``column`` are better (accuracies)."""
    return "acc" in column.rsplit("/", 1)[-1]


def within_limit(values, column: str, limit):
    """Whether ``values`` of ``column`` satisfy ``limit``: at least it for an accuracy,
    at most it otherwise; NaN (unknown) never does. NumPy or JAX arrays; jittable."""
    return values >= limit if higher_is_better(column) else values <= limit


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Table:
    """Benchmark data for one search space, queried by architecture.

    Attributes:
        archs: ``[A, S]`` int32 rows, sorted lexicographically, no duplicates; the
            canonical form of each architecture when ``canonical_keys``.
        columns: name -> ``Float[A]`` row column or :class:`AdditiveColumn`.
        row_of_index: ``[space.size]`` row of each encoding (``-1``: absent) for spaces
            of at most :data:`DENSE_INDEX_LIMIT` encodings, so lookups are O(1);
            ``None`` for larger spaces, which use binary search over ``archs``.
        space: the search space (static).
        canonical_keys: whether queries are canonicalised first (NAS-Bench-101, where
            the table has one row per isomorphism class) (static).
    """

    archs: Int[Array, "A S"]
    columns: dict[str, Array | AdditiveColumn]
    row_of_index: Int[Array, "I"] | None
    space: SearchSpace = dataclasses.field(metadata=dict(static=True))
    canonical_keys: bool = dataclasses.field(default=False, metadata=dict(static=True))

    # -------------------------------------------------------------- building
    @classmethod
    def from_rows(
        cls,
        space: SearchSpace,
        archs: np.ndarray,
        columns: Mapping[str, np.ndarray],
        *,
        additive: Mapping[str, AdditiveColumn] | None = None,
        canonical_keys: bool = False,
    ) -> Table:
        """Builds a table from unsorted rows. Host-side.

        Args:
            space: the search space of ``archs``.
            archs: ``[A, S]`` integer architectures (``A`` may be 0).
            columns: name -> ``[A]`` values; NaN marks a missing value.
            additive: name -> additive column.
            canonical_keys: rows are canonical forms; queries canonicalise.

        Raises:
            ValueError: wrong shapes, out-of-range or duplicate architectures.
        """
        archs = np.asarray(archs, dtype=np.int32).reshape(-1, space.num_slots)
        if not np.all(np.asarray(space.in_range(archs))):
            raise ValueError(
                f"table rows hold architectures outside the {space.name} space"
            )
        order = np.lexsort(archs.T[::-1])
        archs = archs[order]
        if len(archs) > 1 and np.any(np.all(archs[1:] == archs[:-1], axis=1)):
            raise ValueError("table rows hold the same architecture twice")
        rows = {}
        for name, values in columns.items():
            values = np.asarray(values, dtype=np.float32)
            if values.shape != (len(order),):
                raise ValueError(
                    f"column {name!r} has shape {values.shape}, "
                    f"expected ({len(order)},)"
                )
            rows[name] = jnp.asarray(values[order])
        for name, column in (additive or {}).items():
            per_slot = np.asarray(column.per_slot, dtype=np.float32)
            if per_slot.shape != (space.num_slots, max(space.num_choices)):
                raise ValueError(f"additive column {name!r} has shape {per_slot.shape}")
            rows[name] = AdditiveColumn(
                jnp.asarray(per_slot), jnp.asarray(column.offset, jnp.float32)
            )
        row_of_index = None
        if space.size <= DENSE_INDEX_LIMIT:
            row_of_index = np.full(space.size, -1, np.int32)
            row_of_index[np.asarray(space.index(archs))] = np.arange(len(archs))
            row_of_index = jnp.asarray(row_of_index)
        return cls(jnp.asarray(archs), rows, row_of_index, space, canonical_keys)

    def merge(self, other: Table) -> Table:
        """The union of two tables' columns over the union of their rows. Host-side.

        Where both tables hold a column, ``other``'s values fill ``self``'s NaNs.
        """
        if other.space != self.space or other.canonical_keys != self.canonical_keys:
            raise ValueError("cannot merge tables of different spaces")
        both = np.concatenate([np.asarray(self.archs), np.asarray(other.archs)])
        archs, position = np.unique(both, axis=0, return_inverse=True)
        position = position.reshape(-1)
        rows_of = (position[: self.num_rows], position[self.num_rows :])
        columns, additive = {}, {}
        for table, rows in zip((self, other), rows_of):
            for name, column in table.columns.items():
                if isinstance(column, AdditiveColumn):
                    additive.setdefault(name, column)
                    continue
                merged = columns.setdefault(
                    name, np.full(len(archs), np.nan, np.float32)
                )
                empty = np.isnan(merged[rows])
                merged[rows[empty]] = np.asarray(column)[empty]
        return Table.from_rows(
            self.space,
            archs,
            columns,
            additive=additive,
            canonical_keys=self.canonical_keys,
        )

    # -------------------------------------------------------------- querying
    @property
    def num_rows(self) -> int:
        """``A``, the number of rows."""
        return self.archs.shape[0]

    @property
    def column_names(self) -> tuple[str, ...]:
        """All column names, sorted."""
        return tuple(sorted(self.columns))

    def _check_column(self, name: str) -> None:
        if name not in self.columns:
            raise ValueError(
                f"no column {name!r} in the {self.space.name} table; available: "
                f"{', '.join(self.column_names)}"
            )

    def rows(self, archs: Int[Array, "... S"]) -> Int[Array, "..."]:
        """Row of each architecture, ``-1`` where it is not in the table. Jittable."""
        archs = jnp.asarray(archs, dtype=jnp.int32)
        if self.canonical_keys:
            archs = self.space.canonical(archs)
        if self.row_of_index is not None:
            # Out of range -> an index past the end (a negative one would wrap).
            in_range = self.space.in_range(archs)
            index = jnp.where(in_range, self.space.index(archs), self.space.size)
            return self.row_of_index.at[index].get(mode="fill", fill_value=-1)
        flat = archs.reshape(-1, self.space.num_slots)
        found = _find_rows(self.archs, flat)
        return found.reshape(archs.shape[:-1])

    def query(self, archs: Int[Array, "... S"], column: str) -> Float[Array, "..."]:
        """Values of one column, NaN where unknown or missing. Jittable."""
        self._check_column(column)
        archs = jnp.asarray(archs, dtype=jnp.int32)
        values = self.columns[column]
        if isinstance(values, AdditiveColumn):
            num_slots, num_options = values.per_slot.shape
            picked = values.per_slot[
                jnp.arange(num_slots), jnp.clip(archs, 0, num_options - 1)
            ]
            total = jnp.sum(picked, axis=-1) + values.offset
            return jnp.where(self.space.is_valid(archs), total, jnp.nan)
        return self.at_rows(self.rows(archs), column)

    def at_rows(self, rows: Int[Array, "..."], column: str) -> Float[Array, "..."]:
        """Values of a row column at ``rows`` (from :meth:`rows`), NaN at -1. Jittable.

        Lets a caller that needs several columns of the same architectures search
        for their rows once.
        """
        self._check_column(column)
        values = self.columns[column]
        if isinstance(values, AdditiveColumn):
            raise ValueError(f"{column!r} is an additive column: use query(archs, ...)")
        rows = jnp.where(rows < 0, self.num_rows, rows)  # out of bounds -> fill value
        return values.at[rows].get(mode="fill", fill_value=jnp.nan)

    def query_many(
        self, archs: Int[Array, "... S"], columns: Sequence[str]
    ) -> Float[Array, "... M"]:
        """Several columns stacked on the last axis. Jittable."""
        return jnp.stack([self.query(archs, c) for c in columns], axis=-1)

    def values(self, column: str) -> Float[Array, "A"]:
        """A row column over all rows (in ``archs`` order)."""
        self._check_column(column)
        values = self.columns[column]
        if isinstance(values, AdditiveColumn):
            return self.query(self.archs, column)
        return values

    def coverage(self) -> dict[str, int]:
        """Number of rows with a value, per row column. Host-side."""
        return {
            name: int(np.sum(~np.isnan(np.asarray(column))))
            for name, column in sorted(self.columns.items())
            if not isinstance(column, AdditiveColumn)
        }


def _find_row(sorted_archs: Int[Array, "A S"], arch: Int[Array, "S"]) -> Int[Array, ""]:
    """Lexicographic binary search: the row equal to ``arch`` or ``-1``."""
    num_rows = sorted_archs.shape[0]
    if num_rows == 0:
        return jnp.int32(-1)

    def row_less_than_arch(row):
        diff = sorted_archs[row] - arch
        return diff[jnp.argmax(diff != 0)] < 0

    def step(_, bounds):
        low, high = bounds
        mid = (low + high) // 2
        go_right = row_less_than_arch(jnp.minimum(mid, num_rows - 1))
        active = low < high
        return (
            jnp.where(active & go_right, mid + 1, low),
            jnp.where(active & ~go_right, mid, high),
        )

    num_steps = math.ceil(math.log2(num_rows + 1))
    low, _ = jax.lax.fori_loop(0, num_steps, step, (jnp.int32(0), jnp.int32(num_rows)))
    row = jnp.minimum(low, num_rows - 1)
    return jnp.where(jnp.all(sorted_archs[row] == arch), row, -1).astype(jnp.int32)


# Jitted once: host-side queries (outside any jit) reuse one compiled search per shape.
_find_rows = jax.jit(jax.vmap(_find_row, in_axes=(None, 0)))
