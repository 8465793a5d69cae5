"""NAS-Bench-201's network in flax: ``TinyNetwork`` with ``InferCell``\\ s.

As ``xautodl/models/cell_infers/tiny_network.py`` (D-X-Y/NAS-Bench-201): a 3x3 conv
stem (16 channels) + BN; three stages of 5 cells with C = 16 / 32 / 64 and a
``ResNetBasicblock`` between stages (ReLU-conv3x3 stride 2-BN, ReLU-conv3x3-BN, plus
a shortcut avg-pool 2x2 + 1x1 conv); BN-ReLU; global average pooling; a linear
classifier. Inputs are NHWC, 32x32 for CIFAR and 16x16 for ImageNet16-120.

A cell computes node ``j = sum_{i<j} op_ij(node i)`` with the op of each edge from the
architecture: ``none`` gives zeros, ``skip_connect`` the identity, ``nor_conv_kxk`` is
ReLU-conv-BN, ``avg_pool_3x3`` a 3x3 average pool (padding 1, padded zeros not
averaged). Nothing is pruned: a ``none`` edge adds zeros, as NAS-Bench-201's network
does, and XLA folds what that leaves constant or dead.

:data:`FAMILY` registers these networks for ``nb201`` (default dataset ``cifar10``;
only cells with an input-output path are measurable).
"""

from __future__ import annotations

import functools
import operator

import jax.numpy as jnp
from flax import linen as nn
from jaxtyping import Array, Float

from nasjax.networks._layers import (
    AvgPool,
    batch_norm,
    conv,
    global_average_pool,
)
from nasjax.networks._registry import Network, NetworkFamily, register
from nasjax.spaces.nb201 import (
    CELLS_PER_STAGE,
    DATASETS,
    EDGES,
    NUM_CLASSES,
    OPS,
    RESOLUTION,
    STAGE_CHANNELS,
    NB201Space,
)

STEM_CHANNELS = STAGE_CHANNELS[0]


class ReLUConvBN(nn.Module):
    """ReLU, a bias-free ``kernel x kernel`` conv, BN."""

    features: int
    kernel: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: Float[Array, "B H W C"], train: bool = False):
        x = conv(self.features, self.kernel, self.stride)(nn.relu(x))
        return batch_norm(train)(x)


class Cell(nn.Module):
    """One ``InferCell``: ``arch[s]`` is the op (index into ``OPS``) of
    ``EDGES[s]``; input and output have ``features`` channels."""

    arch: tuple[int, ...]
    features: int

    @nn.compact
    def __call__(
        self, x: Float[Array, "B H W C"], train: bool = False
    ) -> Float[Array, "B H W C"]:
        nodes = [x]
        for target in (1, 2, 3):
            terms = [
                self._edge(OPS[self.arch[slot]], nodes[source], train)
                for slot, (source, dest) in enumerate(EDGES)
                if dest == target
            ]
            nodes.append(functools.reduce(operator.add, terms))
        return nodes[3]

    def _edge(self, op: str, x, train: bool):
        if op == "none":
            return jnp.zeros_like(x)
        if op == "skip_connect":
            return x
        if op == "avg_pool_3x3":
            return AvgPool(3, 1, padding=1, count_include_pad=False)(x)
        kernel = 1 if op == "nor_conv_1x1" else 3
        return ReLUConvBN(self.features, kernel)(x, train)


class ResidualBlock(nn.Module):
    """``ResNetBasicblock`` with stride 2: ``C -> features`` channels, half the size."""

    features: int

    @nn.compact
    def __call__(self, x: Float[Array, "B H W C"], train: bool = False):
        branch = ReLUConvBN(self.features, 3, stride=2)(x, train)
        branch = ReLUConvBN(self.features, 3)(branch, train)
        shortcut = conv(self.features, 1)(AvgPool(2, 2)(x))
        return shortcut + branch


class NB201Network(nn.Module):
    """The NAS-Bench-201 network of one architecture.

    Attributes:
        arch: the 6 op indices (a tuple: the module is static config).
        num_classes: outputs of the classifier.
    """

    arch: tuple[int, ...]
    num_classes: int

    @nn.compact
    def __call__(
        self, images: Float[Array, "B H W 3"], train: bool = False
    ) -> Float[Array, "B num_classes"]:
        x = conv(STEM_CHANNELS, 3)(images)
        x = batch_norm(train)(x)
        for stage, features in enumerate(STAGE_CHANNELS):
            if stage > 0:
                x = ResidualBlock(features)(x, train)
            for _ in range(CELLS_PER_STAGE):
                x = Cell(self.arch, features)(x, train)
        x = nn.relu(batch_norm(train)(x))
        return nn.Dense(self.num_classes)(global_average_pool(x))


def _build(arch: tuple[int, ...], dataset: str) -> Network:
    size = RESOLUTION[dataset]
    return Network(NB201Network(arch, NUM_CLASSES[dataset]), (size, size, 3))


_SPACE = NB201Space()
FAMILY = register(
    NetworkFamily(_SPACE, DATASETS, "cifar10", _build, _SPACE.is_connected)
)
