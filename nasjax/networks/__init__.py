"""The spaces' networks in flax linen, for on-device measurement.

:func:`network` builds the network of one architecture of a space with networks
(``"nb201"``, ``"fbnet"``: each space's module registers its :class:`NetworkFamily`,
found by name) for a dataset and returns it with its input shape; :func:`count_params`
and :func:`count_flops` count the built network (they equal :mod:`nasjax.hardware`'s
analytic counts). The modules run in eval mode (BN with running statistics) unless
called with ``train=True``.
"""

from __future__ import annotations

import numpy as np

from nasjax.networks import fbnet, nb201
from nasjax.networks._layers import count_flops, count_params, variable_shapes
from nasjax.networks._registry import (
    FAMILIES,
    Network,
    NetworkFamily,
    find,
    register,
)
from nasjax.networks.fbnet import FBNetNetwork
from nasjax.networks.nb201 import NB201Network

__all__ = [
    "FAMILIES",
    "FBNetNetwork",
    "NB201Network",
    "Network",
    "NetworkFamily",
    "check_dataset",
    "count_flops",
    "count_params",
    "datasets",
    "default_dataset",
    "fbnet",
    "find",
    "nb201",
    "network",
    "register",
    "variable_shapes",
]


def _family(space: str) -> NetworkFamily:
    family = find(space)
    if family is None:
        raise ValueError(
            f"no networks for search space {space!r}; choose from {tuple(FAMILIES)}"
        )
    return family


def datasets(space: str) -> tuple[str, ...]:
    """The datasets whose networks ``space`` can build."""
    return _family(space).datasets


def default_dataset(space: str) -> str:
    """The dataset of ``space``'s networks when none is named."""
    return _family(space).default_dataset


def check_dataset(space: str, dataset: str | None) -> str:
    """``dataset``, or ``space``'s default when ``None``.

    Raises:
        ValueError: unknown space or dataset (the message lists the choices).
    """
    family = _family(space)
    dataset = family.default_dataset if dataset is None else dataset
    if dataset not in family.datasets:
        raise ValueError(
            f"unknown {space} dataset {dataset!r}; choose from {family.datasets}"
        )
    return dataset


def network(space: str, arch, dataset: str | None = None) -> Network:
    """The network of ``arch`` (e.g. ``[6]`` NB201 or ``[22]`` FBNet ints). Host-side.

    Args:
        space: a space with networks (``"nb201"``, ``"fbnet"``).
        arch: the architecture.
        dataset: sets the resolution and classes (default :func:`default_dataset`):
            NB201 ``cifar10-valid``, ``cifar10`` (default), ``cifar100``,
            ``ImageNet16-120``; FBNet ``cifar100`` (default), ``ImageNet``.

    Raises:
        ValueError: unknown space or dataset, or not an architecture of the space.
    """
    dataset = check_dataset(space, dataset)
    family = _family(space)
    family.space.to_string(arch)  # raises ValueError naming a bad architecture
    return family.build(tuple(int(op) for op in np.asarray(arch)), dataset)
