"""Layers the networks share, and counting their parameters and FLOPs.

FLOPs are counted from the built network, module by module, with the rules of
:mod:`nasjax.hardware` (NAS-Bench-201's ``get_model_infos``): multiply-adds of every
:class:`flax.linen.Conv` (``k*k*C_in/groups`` per output element) and
:class:`flax.linen.Dense` (plus its bias), and one per summed element of an
:class:`AvgPool`. BN, ReLU, residual adds and the global average pool (a plain mean)
count nothing.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import linen as nn
from jaxtyping import Array, Float


def conv(
    features: int,
    kernel: int,
    stride: int = 1,
    groups: int = 1,
    name: str | None = None,
) -> nn.Conv:
    """A bias-free ``kernel x kernel`` conv with PyTorch's ``padding = kernel // 2``."""
    pad = kernel // 2
    return nn.Conv(
        features,
        (kernel, kernel),
        strides=stride,
        padding=((pad, pad), (pad, pad)),
        feature_group_count=groups,
        use_bias=False,
        name=name,
    )


def batch_norm(train: bool) -> nn.BatchNorm:
    """BN with PyTorch's defaults (momentum 0.1, eps 1e-5); running stats unless
    ``train``."""
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)


class AvgPool(nn.Module):
    """``window x window`` average pool (a module, so FLOP counting sees it).

    Attributes:
        window: pool size.
        stride: step.
        padding: zero padding on each side.
        count_include_pad: whether padded zeros count in the average (PyTorch's
            ``count_include_pad``).
    """

    window: int
    stride: int
    padding: int = 0
    count_include_pad: bool = True

    def __call__(self, x: Float[Array, "B H W C"]) -> Float[Array, "B h w C"]:
        pad = ((self.padding, self.padding),) * 2
        return nn.avg_pool(
            x,
            (self.window, self.window),
            strides=(self.stride, self.stride),
            padding=pad,
            count_include_pad=self.count_include_pad,
        )


def global_average_pool(x: Float[Array, "B H W C"]) -> Float[Array, "B C"]:
    """Mean over the spatial axes."""
    return jnp.mean(x, axis=(1, 2))


def variable_shapes(module: nn.Module, input_shape: tuple[int, ...]) -> dict:
    """Shapes of ``module``'s variables (``params``, ``batch_stats``) for one image of
    ``input_shape`` ``[H, W, C]``, without computing anything. Host-side."""
    images = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
    return jax.eval_shape(module.init, jax.random.key(0), images)


def count_params(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Trainable parameters (conv/dense weights and biases, BN scale and bias).
    Host-side."""
    params = variable_shapes(module, input_shape)["params"]
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass at batch 1 (see the module docstring).
    Host-side."""
    total = 0

    def count(next_fun, args, kwargs, context):
        nonlocal total
        out = next_fun(*args, **kwargs)
        layer = context.module
        if context.method_name != "__call__":
            return out
        if isinstance(layer, nn.Conv):
            fan_in = math.prod(layer.kernel_size) * args[0].shape[-1]
            total += out.size * fan_in // layer.feature_group_count
        elif isinstance(layer, nn.Dense):
            total += out.size * (args[0].shape[-1] + int(layer.use_bias))
        elif isinstance(layer, AvgPool):
            total += out.size * layer.window**2
        return out

    with nn.intercept_methods(count):
        variable_shapes(module, input_shape)
    return total
