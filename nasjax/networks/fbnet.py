"""HW-NAS-Bench's FBNet networks in flax (``fbnet_models/model_infer.py``).

The macro network is :data:`nasjax.spaces.fbnet.MACRO`: a 3x3 ConvNorm stem, the 22
searchable layers, a 1x1 ConvNorm head, global average pooling and a linear
classifier; the blocks are those :mod:`nasjax.hardware.fbnet_costs` describes
(``ConvBlock``: grouped 1x1 expansion + BN + ReLU, channel shuffle when grouped, kxk
depthwise with the layer's stride + BN + ReLU, grouped 1x1 projection + BN, the
identity added when the shape is kept; ``skip``: the identity, or a strided 1x1
ConvNorm where the shape changes). Inputs are NHWC.

:data:`FAMILY` registers these networks for ``fbnet`` (default dataset ``cifar100``).
"""

from __future__ import annotations

from flax import linen as nn
from jaxtyping import Array, Float

from nasjax.networks._layers import batch_norm, conv, global_average_pool
from nasjax.networks._registry import Network, NetworkFamily, register
from nasjax.spaces.fbnet import (
    BLOCKS,
    DATASETS,
    SKIP,
    FBNetSpace,
    Layer,
    macro_network,
)


class ConvNorm(nn.Module):
    """A bias-free conv, BN, and (if ``relu``) ReLU."""

    features: int
    kernel: int
    stride: int = 1
    groups: int = 1
    relu: bool = True

    @nn.compact
    def __call__(self, x: Float[Array, "B H W C"], train: bool = False):
        x = conv(self.features, self.kernel, self.stride, self.groups)(x)
        x = batch_norm(train)(x)
        return nn.relu(x) if self.relu else x


def channel_shuffle(x: Float[Array, "B H W C"], groups: int) -> Float[Array, "B H W C"]:
    """ShuffleNet's shuffle: channel ``g * (C / groups) + i`` moves to
    ``i * groups + g``."""
    *batch, channels = x.shape
    x = x.reshape(*batch, groups, channels // groups)
    return x.swapaxes(-1, -2).reshape(*batch, channels)


class ConvBlock(nn.Module):
    """HW-NAS-Bench's ``ConvBlock(C_in, C_out, expansion, kernel, stride, group)``."""

    features: int
    expansion: int
    kernel: int
    stride: int
    groups: int

    @nn.compact
    def __call__(self, x: Float[Array, "B H W C"], train: bool = False):
        c_in = x.shape[-1]
        hidden = c_in * self.expansion
        h = ConvNorm(hidden, 1, groups=self.groups)(x, train)
        if self.groups > 1:
            h = channel_shuffle(h, self.groups)
        h = ConvNorm(hidden, self.kernel, self.stride, groups=hidden)(h, train)
        h = ConvNorm(self.features, 1, groups=self.groups, relu=False)(h, train)
        if self.stride == 1 and c_in == self.features:
            h = h + x
        return h


def _block(layer: Layer, op: int) -> nn.Module | None:
    """Block ``op`` at ``layer``; ``None`` for an identity ``skip``."""
    _, c_in, c_out, stride = layer
    if op == SKIP:
        if stride == 1 and c_in == c_out:
            return None
        return ConvNorm(c_out, 1, stride)
    expansion, kernel, groups = BLOCKS[op]
    return ConvBlock(c_out, expansion, kernel, stride, groups)


class FBNetNetwork(nn.Module):
    """The FBNet network of one architecture.

    Attributes:
        arch: the 22 block indices (a tuple: the module is static config).
        dataset: ``"cifar100"`` or ``"ImageNet"`` (the macro network).
    """

    arch: tuple[int, ...]
    dataset: str

    @nn.compact
    def __call__(
        self, images: Float[Array, "B H W 3"], train: bool = False
    ) -> Float[Array, "B num_classes"]:
        net = macro_network(self.dataset)
        x = ConvNorm(net.stem.c_out, 3, net.stem.stride)(images, train)
        for layer, op in zip(net.layers, self.arch, strict=True):
            block = _block(layer, op)
            if block is not None:
                x = block(x, train)
        x = ConvNorm(net.head.c_out, 1)(x, train)
        return nn.Dense(net.num_classes)(global_average_pool(x))


def _build(arch: tuple[int, ...], dataset: str) -> Network:
    size = macro_network(dataset).stem.size
    return Network(FBNetNetwork(arch, dataset), (size, size, 3))


FAMILY = register(NetworkFamily(FBNetSpace(), DATASETS, "cifar100", _build))
