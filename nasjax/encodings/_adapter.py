"""One adapter per search space: every form of its architectures, found by name.

A module that needs a space-specific form or answer asks ``adapter(space)``, never
``if space.name == ...``. Each space's own encoding module builds its
:class:`Adapter` and calls :func:`register` when imported; :func:`adapter` imports
``nasjax.encodings.<name>`` the first time a space is asked for, so a new space adds
its module and touches nothing here. A space defined outside the package registers
its adapter itself::

    encodings.register(encodings.Adapter(my_space, graphs=my_batch))
    surrogates.graph_inputs(my_space, archs)  # the GCN now takes my_space

Only ``graphs`` is required (every surrogate, BRP-NAS and NPENAS use it); the other
forms switch on the capabilities that need them.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

import jraph
import numpy as np
from jaxtyping import Array, Float, Int

from nasjax.encodings._typed import GraphFormat
from nasjax.spaces._base import SearchSpace


@dataclasses.dataclass(frozen=True)
class Adapter:
    """The forms of one search space's architectures (static, hashable).

    Attributes:
        space: the search space.
        graphs: ``archs [B, S] -> `` a jraph batch of ``B`` fixed-shape masked graphs
            with the global node last (:func:`~nasjax.encodings.merge_batch` of a
            ``global_node=True`` encoding): the GCN's input form. Jittable.
        generator: the AG-Net generator's form, or ``None`` (AG-Net cannot search
            the space).
        path: ``archs [..., S] -> [..., path_features]`` 0/1 path encoding
            (BANANAS), shortest paths first, or ``None``. Jittable.
        path_features: the length of ``path``.
        row_ids: ``archs [..., S] -> [...]`` ints naming what a table keys rows by
            (equal for two encodings of one model); default ``space.index``.
        mutation_rates: ``[S]`` probability that BANANAS's mutation changes each
            slot; default ``1 / (S - 2)`` each.
        benchmark_index: ``archs [..., S] -> [...]`` the benchmark's own index
            (``arch_idx`` of a measurement file), or ``None`` (-1 there).
        benchmark_archs: ``() -> [A, S]`` every architecture in the benchmark's
            order (``nasjax measure --archs all``), or ``None``.
    """

    space: SearchSpace
    graphs: Callable[[Int[Array, "B S"]], jraph.GraphsTuple]
    generator: GraphFormat | None = None
    path: Callable[[Int[Array, "... S"]], Float[Array, "... F"]] | None = None
    path_features: int = 0
    row_ids: Callable[[Int[Array, "... S"]], Int[Array, "..."]] | None = None
    mutation_rates: tuple[float, ...] | None = None
    benchmark_index: Callable[[Int[Array, "... S"]], Int[Array, "..."]] | None = None
    benchmark_archs: Callable[[], np.ndarray] | None = None

    @property
    def name(self) -> str:
        """The space's name, the registry's key."""
        return self.space.name

    def ids(self, archs: Int[Array, "... S"]) -> Int[Array, "..."]:
        """What a table keys the rows of ``archs`` by (:attr:`row_ids`). Jittable."""
        return (self.row_ids or self.space.index)(archs)

    def slot_rates(self) -> np.ndarray:
        """``[S]`` per-slot mutation probabilities (:attr:`mutation_rates`)."""
        if self.mutation_rates is not None:
            return np.asarray(self.mutation_rates)
        slots = self.space.num_slots
        return np.full(slots, 1.0 / max(slots - 2, 1))


ADAPTERS: dict[str, Adapter] = {}


def register(adapter_: Adapter) -> Adapter:
    """Makes ``adapter_`` the adapter of its space's name; returns it."""
    ADAPTERS[adapter_.name] = adapter_
    return adapter_


def find(space: SearchSpace | str) -> Adapter | None:
    """The adapter of ``space`` (a space or its name), or ``None``.

    Imports ``nasjax.encodings.<name>`` (which registers it) the first time.
    """
    name = space if isinstance(space, str) else space.name
    if name not in ADAPTERS and name.isidentifier() and not name.startswith("_"):
        try:
            importlib.import_module(f"nasjax.encodings.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"nasjax.encodings.{name}":
                raise
    return ADAPTERS.get(name)


def adapter(space: SearchSpace | str) -> Adapter:
    """The adapter of ``space`` (a space or its name; see :func:`find`).

    Raises:
        ValueError: no adapter registered and no module ``nasjax.encodings.<name>``.
    """
    found = find(space)
    if found is None:
        name = space if isinstance(space, str) else space.name
        raise ValueError(
            f"no encodings for search space {name!r}; nasjax has "
            f"{sorted(ADAPTERS)} (register one with nasjax.encodings.register)"
        )
    return found


def graph_format(space: SearchSpace | str) -> GraphFormat:
    """The AG-Net generator's graph form of ``space``.

    Raises:
        ValueError: a space without one (AG-Net decodes nb201 and nb101 cells).
    """
    found = adapter(space).generator
    if found is None:
        with_form = sorted(n for n, a in ADAPTERS.items() if a.generator is not None)
        raise ValueError(
            f"the AG-Net generator decodes {' and '.join(with_form)} cells, not "
            f"{adapter(space).name!r}"
        )
    return found
