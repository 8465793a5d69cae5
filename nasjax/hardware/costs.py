"""Analytic parameter and FLOP counts of the NAS-Bench-201 macro network.

The network: a 3x3 conv stem (16 channels) + BN; three stages of 5 cells with
C = 16 / 32 / 64; a residual reduction block between stages (3x3 conv stride 2 + BN,
3x3 conv + BN, shortcut avg-pool 2x2 + 1x1 conv); BN-ReLU, global average pooling and
a linear classifier. Inputs are 32x32 for CIFAR and 16x16 for ImageNet16-120.

Counting follows NAS-Bench-201's ``get_model_infos``: FLOPs are the multiply-adds of
convolutions and the classifier (with its bias) plus one per summed element of an
average pool; BN, ReLU and the global pooling are not counted. Parameters count conv
weights, BN affine pairs and the classifier. Both are returned in millions.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from nasjax.spaces.nb201 import CELLS_PER_STAGE, OPS, STAGE_CHANNELS


def _count(arch: Int[Array, "... 6"], name: str):
    return jnp.sum(arch == OPS.index(name), axis=-1)


def nb201_params(arch: Int[Array, "... 6"], num_classes: int) -> Float[Array, "..."]:
    """Parameters of the NAS-Bench-201 network, in millions. Jittable.

    Equals the benchmark's ``params`` for the 15,475 architectures where NATS-Bench
    stored its own count (see ``PROVENANCE.md``).
    """
    conv3, conv1 = _count(arch, "nor_conv_3x3"), _count(arch, "nor_conv_1x1")
    total = 3 * 16 * 9 + 2 * 16  # stem conv + BN
    for c in STAGE_CHANNELS:
        total = total + CELLS_PER_STAGE * (
            conv3 * (9 * c * c + 2 * c) + conv1 * (c * c + 2 * c)
        )
    for c in STAGE_CHANNELS[:-1]:  # residual reduction C -> 2C
        total += (18 * c * c + 4 * c) + (36 * c * c + 4 * c) + 2 * c * c
    total += 2 * STAGE_CHANNELS[-1] + STAGE_CHANNELS[-1] * num_classes + num_classes
    return total / 1e6


def nb201_flops(
    arch: Int[Array, "... 6"], num_classes: int, resolution: int = 32
) -> Float[Array, "..."]:
    """FLOPs (multiply-adds) of one forward pass at batch 1, in millions. Jittable."""
    conv3, conv1, pool = (
        _count(arch, o) for o in ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    )
    size = resolution
    total = size * size * 3 * 16 * 9  # stem
    for stage, c in enumerate(STAGE_CHANNELS):
        pixels = size * size
        per_cell = (
            conv3 * pixels * c * c * 9 + conv1 * pixels * c * c + pool * pixels * c * 9
        )
        total = total + CELLS_PER_STAGE * per_cell
        if stage < len(STAGE_CHANNELS) - 1:
            size //= 2
            out = size * size * 2 * c
            # conv_a 3x3 stride 2, conv_b 3x3, shortcut avg-pool 2x2 then 1x1 conv.
            total += out * c * 9 + out * 2 * c * 9 + size * size * c * 4 + out * c
    total += STAGE_CHANNELS[-1] * num_classes + num_classes
    return total / 1e6
