"""The spaces' networks in flax linen, for on-device measurement.

:func:`network` builds the network of one architecture of ``"nb201"`` or ``"fbnet"``
for a dataset and returns it with its input shape; :func:`count_params` and
:func:`count_flops` count the built network (they equal :mod:`nasjax.hardware`'s
analytic counts). The modules run in eval mode (BN with running statistics) unless
called with ``train=True``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from flax import linen as nn

from nasjax.networks._layers import count_flops, count_params, variable_shapes
from nasjax.networks.fbnet import FBNetNetwork
from nasjax.networks.nb201 import NB201Network
from nasjax.spaces.fbnet import DATASETS as FBNET_DATASETS
from nasjax.spaces.fbnet import FBNetSpace, macro_network
from nasjax.spaces.nb201 import NUM_CLASSES, RESOLUTION, NB201Space

SPACES = ("nb201", "fbnet")
DEFAULT_DATASET = {"nb201": "cifar10", "fbnet": "cifar100"}

__all__ = [
    "DEFAULT_DATASET",
    "FBNetNetwork",
    "NB201Network",
    "Network",
    "SPACES",
    "check_dataset",
    "count_flops",
    "count_params",
    "datasets",
    "network",
    "variable_shapes",
]


class Network(NamedTuple):
    """A flax module and the shape ``[H, W, 3]`` of one input image."""

    module: nn.Module
    input_shape: tuple[int, int, int]


def datasets(space: str) -> tuple[str, ...]:
    """The datasets whose networks ``space`` can build."""
    if space not in SPACES:
        raise ValueError(
            f"no networks for search space {space!r}; choose from {SPACES}"
        )
    return tuple(NUM_CLASSES) if space == "nb201" else FBNET_DATASETS


def check_dataset(space: str, dataset: str | None) -> str:
    """``dataset``, or ``space``'s default when ``None``.

    Raises:
        ValueError: unknown space or dataset (the message lists the choices).
    """
    choices = datasets(space)
    dataset = DEFAULT_DATASET[space] if dataset is None else dataset
    if dataset not in choices:
        raise ValueError(f"unknown {space} dataset {dataset!r}; choose from {choices}")
    return dataset


def network(space: str, arch, dataset: str | None = None) -> Network:
    """The network of ``arch`` (``[6]`` NB201 or ``[22]`` FBNet ints). Host-side.

    Args:
        space: ``"nb201"`` or ``"fbnet"``.
        arch: the architecture.
        dataset: sets the resolution and classes (default :data:`DEFAULT_DATASET`):
            NB201 ``cifar10-valid``, ``cifar10``, ``cifar100``, ``ImageNet16-120``;
            FBNet ``cifar100``, ``ImageNet``.

    Raises:
        ValueError: unknown space or dataset, or not an architecture of the space.
    """
    dataset = check_dataset(space, dataset)
    search_space = NB201Space() if space == "nb201" else FBNetSpace()
    search_space.to_string(arch)  # raises ValueError naming a bad architecture
    arch = tuple(int(op) for op in np.asarray(arch))
    if space == "nb201":
        size = RESOLUTION[dataset]
        return Network(NB201Network(arch, NUM_CLASSES[dataset]), (size, size, 3))
    size = macro_network(dataset).stem.size
    return Network(FBNetNetwork(arch, dataset), (size, size, 3))
