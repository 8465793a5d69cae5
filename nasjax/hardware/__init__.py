"""Hardware costs: analytic FLOPs and parameter counts of the spaces' networks.

The lowest layer above the spaces: pure, jittable counts. On-device latency
measurement is :mod:`nasjax.measure` (it builds the flax networks of
:mod:`nasjax.networks`).
"""

from nasjax.hardware.costs import nb201_flops, nb201_params
from nasjax.hardware.fbnet_costs import fbnet_flops, fbnet_params

__all__ = ["fbnet_flops", "fbnet_params", "nb201_flops", "nb201_params"]
