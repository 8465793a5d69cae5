"""nasjax: hardware-aware neural architecture search in pure-functional JAX."""
from nasjax import spaces
__version__ = "0.1.0"
