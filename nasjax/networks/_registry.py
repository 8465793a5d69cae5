"""The networks of each search space, found by the space's name.

Each space's network module (``nasjax.networks.<name>``) builds a
:class:`NetworkFamily` and calls :func:`register` when imported; :func:`find` imports
that module the first time the space is asked for, so a new space adds its module and
touches nothing here.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import NamedTuple

from flax import linen as nn
from jaxtyping import Array

from nasjax.spaces._base import SearchSpace


class Network(NamedTuple):
    """A flax module and the shape ``[H, W, 3]`` of one input image."""

    module: nn.Module
    input_shape: tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class NetworkFamily:
    """The networks of one search space.

    Attributes:
        space: the search space.
        datasets: the datasets whose networks it builds.
        default_dataset: the one used when none is named.
        build: ``(arch, dataset) -> Network`` for a valid ``arch`` (a tuple of ints)
            and a dataset of ``datasets``. Host-side.
        measurable: ``archs [..., S] -> [...]`` bool, whether an architecture's
            network computes something from its input (a cell without an
            input-output path computes a constant that XLA folds: its latency says
            nothing about op costs); ``None``: every one does.
    """

    space: SearchSpace
    datasets: tuple[str, ...]
    default_dataset: str
    build: Callable[[tuple[int, ...], str], Network]
    measurable: Callable[[Array], Array] | None = None


FAMILIES: dict[str, NetworkFamily] = {}


def register(family: NetworkFamily) -> NetworkFamily:
    """Makes ``family`` the networks of its space's name; returns it."""
    FAMILIES[family.space.name] = family
    return family


def find(name: str) -> NetworkFamily | None:
    """The networks of the space ``name``, or ``None``.

    Imports ``nasjax.networks.<name>`` (which registers them) the first time.
    """
    if name not in FAMILIES and name.isidentifier() and not name.startswith("_"):
        try:
            importlib.import_module(f"nasjax.networks.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"nasjax.networks.{name}":
                raise
    return FAMILIES.get(name)
