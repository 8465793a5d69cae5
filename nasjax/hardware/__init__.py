"""Hardware costs: analytic FLOPs and parameter counts of the spaces' networks."""

from nasjax.hardware.costs import nb201_flops, nb201_params
from nasjax.hardware.fbnet_costs import fbnet_flops, fbnet_params

__all__ = ["fbnet_flops", "fbnet_params", "nb201_flops", "nb201_params"]
