"""Analytic parameter and FLOP counts of the HW-NAS-Bench FBNet networks.

The blocks are those of HW-NAS-Bench's ``hw_nas_bench_api/fbnet_models/model_infer.py``
(GATECH-EIC/HW-NAS-Bench):

* ``ConvBlock(C_in, C_out, e, k, s, g)``: 1x1 conv ``C_in -> e*C_in`` in ``g`` groups
  + BN + ReLU, (channel shuffle if ``g > 1``), kxk depthwise conv with stride ``s``
  + BN + ReLU, 1x1 conv ``e*C_in -> C_out`` in ``g`` groups + BN, and the identity
  added when ``s == 1`` and ``C_in == C_out``. No conv has a bias.
* ``Skip``: the identity when ``s == 1`` and ``C_in == C_out``, else a 1x1 conv with
  stride ``s`` (no bias) + BN + ReLU.
* stem ``ConvNorm(3, 16, 3x3, stride 1 or 2)`` and head ``ConvNorm(352, 1504 | 1984,
  1x1)``: conv (no bias) + BN + ReLU; ``AdaptiveAvgPool2d(1)``; ``Linear`` with bias.

Counting follows NAS-Bench-201's ``get_model_infos`` as :mod:`nasjax.hardware.costs`
does: FLOPs are the multiply-adds of convolutions (``k*k*C_in*C_out/groups`` per output
position) and of the classifier (plus its bias); BN, ReLU, the channel shuffle, the
residual add and the *global* average pool (an ``AdaptiveAvgPool2d``, which that
counter has no hook for) count nothing. Parameters are conv weights, BN affine pairs
(``2C``) and the classifier. Everything is in millions, for batch 1.

The costs are additive over layers: ``per_slot[s, op]`` for layer ``s`` plus a constant
for the stem, head and classifier (:func:`per_slot_flops`, :func:`fixed_flops`, ...).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from nasjax.spaces.fbnet import BLOCKS, NUM_LAYERS, OPS, SKIP, Layer, macro_network


def _out_size(size: int, stride: int) -> int:
    # HW-NAS-Bench pads so that h_out = h_in / stride (all sizes here are even).
    return size // stride


def block_flops(layer: Layer, op: int) -> int:
    """Multiply-adds of block ``OPS[op]`` at ``layer`` (not in millions). Host-side."""
    size, c_in, c_out, stride = layer
    out = _out_size(size, stride)
    if op == SKIP:
        return 0 if (stride == 1 and c_in == c_out) else out * out * c_in * c_out
    expansion, kernel, group = BLOCKS[op]
    mid = c_in * expansion
    return (
        size * size * c_in * mid // group  # 1x1 expansion, stride 1
        + out * out * kernel * kernel * mid  # depthwise
        + out * out * mid * c_out // group  # 1x1 projection
    )


def block_params(layer: Layer, op: int) -> int:
    """Parameters of block ``OPS[op]`` at ``layer`` (not in millions). Host-side."""
    _, c_in, c_out, stride = layer
    if op == SKIP:
        return 0 if (stride == 1 and c_in == c_out) else c_in * c_out + 2 * c_out
    expansion, kernel, group = BLOCKS[op]
    mid = c_in * expansion
    return (
        c_in * mid // group
        + 2 * mid
        + kernel * kernel * mid
        + 2 * mid
        + mid * c_out // group
        + 2 * c_out
    )


def _conv_norm(layer: Layer, kernel: int) -> tuple[int, int]:
    size, c_in, c_out, stride = layer
    out = _out_size(size, stride)
    return (
        out * out * kernel * kernel * c_in * c_out,
        kernel * kernel * c_in * c_out + 2 * c_out,
    )


@functools.cache
def _tables(dataset: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    net = macro_network(dataset)
    flops = np.array(
        [[block_flops(la, op) for op in range(len(OPS))] for la in net.layers]
    )
    params = np.array(
        [[block_params(la, op) for op in range(len(OPS))] for la in net.layers]
    )
    stem_flops, stem_params = _conv_norm(net.stem, 3)
    head_flops, head_params = _conv_norm(net.head, 1)
    fc = net.head.c_out * net.num_classes + net.num_classes
    fixed_flops = (stem_flops + head_flops + fc) / 1e6
    fixed_params = (stem_params + head_params + fc) / 1e6
    flops, params = flops / 1e6, params / 1e6
    flops.setflags(write=False)
    params.setflags(write=False)
    return flops, params, fixed_flops, fixed_params


def per_slot_flops(dataset: str) -> np.ndarray:
    """``[22, 9]`` float64: FLOPs (M) of each block at each layer. Host-side."""
    return _tables(dataset)[0].copy()


def per_slot_params(dataset: str) -> np.ndarray:
    """``[22, 9]`` float64: parameters (M) of each block at each layer. Host-side."""
    return _tables(dataset)[1].copy()


def fixed_flops(dataset: str) -> float:
    """FLOPs (M) of the stem, head and classifier. Host-side."""
    return _tables(dataset)[2]


def fixed_params(dataset: str) -> float:
    """Parameters (M) of the stem, head and classifier. Host-side."""
    return _tables(dataset)[3]


def _network_total(arch, per_slot: np.ndarray, fixed: float):
    """``fixed + sum_l per_slot[l, arch[l]]`` for ``arch [..., 22]``."""
    arch = jnp.asarray(arch)
    if arch.shape[-1] != NUM_LAYERS:
        raise ValueError(
            f"FBNet architectures have {NUM_LAYERS} slots, got {arch.shape}"
        )
    picked = jnp.asarray(per_slot, jnp.float32)[np.arange(NUM_LAYERS), arch]
    return jnp.sum(picked, axis=-1) + jnp.float32(fixed)


def fbnet_flops(
    arch: Int[Array, "... 22"], dataset: str = "cifar100"
) -> Float[Array, "..."]:
    """FLOPs (multiply-adds, M) of FBNet networks at batch 1. Jittable."""
    return _network_total(arch, per_slot_flops(dataset), fixed_flops(dataset))


def fbnet_params(
    arch: Int[Array, "... 22"], dataset: str = "cifar100"
) -> Float[Array, "..."]:
    """Parameters (M) of FBNet networks. Jittable."""
    return _network_total(arch, per_slot_params(dataset), fixed_params(dataset))
