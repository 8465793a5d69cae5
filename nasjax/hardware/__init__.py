"""Hardware costs: analytic FLOPs and parameter counts of the spaces' networks.

On-device latency measurement is :mod:`nasjax.hardware.measure`, imported on its own
(it builds the flax networks of :mod:`nasjax.networks`).
"""

from nasjax.hardware.costs import nb201_flops, nb201_params
from nasjax.hardware.fbnet_costs import fbnet_flops, fbnet_params

__all__ = ["fbnet_flops", "fbnet_params", "nb201_flops", "nb201_params"]
