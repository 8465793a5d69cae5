"""Hardware costs: analytic FLOPs/params (and, later, flax networks and measurement)."""

from nasjax.hardware.costs import nb201_flops, nb201_params

__all__ = ["nb201_flops", "nb201_params"]
