"""HW-NAS-Bench's FBNet space: a chain of 22 searchable layers x 9 candidate blocks.

``arch[s]`` is the index into :data:`OPS` of the block at layer ``s``. Blocks ``0..7``
are ``ConvBlock``\\ s (1x1 expansion conv, kxk depthwise conv, 1x1 projection conv, see
:data:`BLOCKS`); ``skip`` (8) is the identity, or a 1x1 conv + BN + ReLU where the
layer changes the channel count or the resolution. The text format is HELP's
``op_names`` column: the 22 op names separated by spaces.

The macro network around the 22 layers is fixed per dataset and described statically
by :data:`MACRO` (HW-NAS-Bench ``fbnet_models/model_infer.py`` and
``hw_nas_bench_api.fbnet_get_metrics``): a 3x3 ConvNorm stem, 7 stages of
``[1, 4, 4, 4, 4, 4, 1]`` layers with ``[16, 24, 32, 64, 112, 184, 352]`` channels, the
first layer of a stage carrying its stride, a 1x1 ConvNorm head, global average
pooling and a linear classifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nasjax.spaces._base import SearchSpace

OPS = (
    "k3_e1",
    "k3_e1_g2",
    "k3_e3",
    "k3_e6",
    "k5_e1",
    "k5_e1_g2",
    "k5_e3",
    "k5_e6",
    "skip",
)
# (expansion, kernel, group) of the ConvBlock ops 0..7.
BLOCKS = (
    (1, 3, 1),
    (1, 3, 2),
    (3, 3, 1),
    (6, 3, 1),
    (1, 5, 1),
    (1, 5, 2),
    (3, 5, 1),
    (6, 5, 1),
)
SKIP = 8
NUM_LAYERS = 22
DATASETS = ("cifar100", "ImageNet")

STEM_CHANNELS = 16
STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)


class Layer(NamedTuple):
    """One layer of the macro network: input size ``H`` (= ``W``), channels, stride."""

    size: int
    c_in: int
    c_out: int
    stride: int


class MacroNetwork(NamedTuple):
    """The fixed part of an FBNet network for one dataset (a tuple of tuples).

    Attributes:
        stem: 3x3 ConvNorm from RGB (``c_in = 3``).
        layers: the 22 searchable layers, in order.
        head: the final 1x1 ConvNorm (``stride = 1``).
        pool_size: kernel of the global average pool (= the head's size).
        num_classes: outputs of the linear classifier (input ``head.c_out``).
    """

    stem: Layer
    layers: tuple[Layer, ...]
    head: Layer
    pool_size: int
    num_classes: int


def _macro(resolution: int, stem_stride: int, strides, head_channels, num_classes):
    stem = Layer(resolution, 3, STEM_CHANNELS, stem_stride)
    size, c_in, layers = resolution // stem_stride, STEM_CHANNELS, []
    for num, c_out, stride in zip(STAGE_LAYERS, STAGE_CHANNELS, strides):
        for i in range(num):
            layers.append(Layer(size, c_in, c_out, stride if i == 0 else 1))
            size //= stride if i == 0 else 1
            c_in = c_out
    head = Layer(size, c_in, head_channels, 1)
    return MacroNetwork(stem, tuple(layers), head, size, num_classes)


# CIFAR-100 (32x32, unofficial FBNet-v1 CIFAR strides) and ImageNet (224x224).
MACRO: dict[str, MacroNetwork] = {
    "cifar100": _macro(32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 100),
    "ImageNet": _macro(224, 2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000),
}


def macro_network(dataset: str) -> MacroNetwork:
    """The macro network of ``dataset``; ``ValueError`` lists the valid names."""
    if dataset not in MACRO:
        raise ValueError(f"unknown FBNet dataset {dataset!r}; choose from {DATASETS}")
    return MACRO[dataset]


@dataclasses.dataclass(frozen=True)
class FBNetSpace(SearchSpace):
    """HW-NAS-Bench FBNet: ``arch[s]`` is the index into :data:`OPS` of layer ``s``.

    Every one of the ``9**22`` encodings is a valid, distinct network.
    """

    name: str = "fbnet"
    num_choices: tuple[int, ...] = (len(OPS),) * NUM_LAYERS
    ops: tuple[str, ...] = OPS

    # ------------------------------------------------------------- string I/O
    def to_string(self, arch) -> str:
        """``"k5_e6 skip k3_e1_g2 ..."``: the op names, as HELP's ``op_names``."""
        arch = np.asarray(arch)
        if arch.shape != (NUM_LAYERS,) or not np.all((arch >= 0) & (arch < len(OPS))):
            raise ValueError(
                f"not an FBNet architecture: {arch.tolist()} (expected {NUM_LAYERS} "
                f"integers in 0..{len(OPS) - 1})"
            )
        return " ".join(OPS[i] for i in arch)

    def from_string(self, text: str) -> np.ndarray:
        """Parses 22 space-separated op names into a ``[22]`` int32 array."""
        if not isinstance(text, str):
            raise TypeError(f"not an FBNet arch string: {text!r} (expected a str)")
        names = text.split()
        if len(names) != NUM_LAYERS:
            raise ValueError(
                f"not an FBNet arch string: {text!r} has {len(names)} op names, "
                f"expected "
                f"{NUM_LAYERS} separated by spaces, each one of {OPS}"
            )
        unknown = sorted({n for n in names if n not in OPS})
        if unknown:
            raise ValueError(
                f"not an FBNet arch string: {text!r} has unknown ops {unknown}; valid "
                f"ops are {OPS}"
            )
        return np.asarray([OPS.index(n) for n in names], dtype=np.int32)

    def from_strings(self, texts: Sequence[str]) -> np.ndarray:
        """Parses many strings into an ``[A, 22]`` int32 array. Host-side."""
        if len(texts) == 0:
            return np.zeros((0, NUM_LAYERS), dtype=np.int32)
        return super().from_strings(texts)


def fbnet() -> FBNetSpace:
    """The HW-NAS-Bench FBNet search space."""
    return FBNetSpace()
