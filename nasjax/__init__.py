"""nasjax: hardware-aware neural architecture search in pure-functional JAX."""

from nasjax import data, encodings, hardware, networks, search, spaces
from nasjax.data import Table, load_table
from nasjax.search import SearchResult, Strategy, run, run_seeds

__version__ = "0.1.0"

__all__ = [
    "SearchResult",
    "Strategy",
    "Table",
    "data",
    "encodings",
    "hardware",
    "load_table",
    "networks",
    "run",
    "run_seeds",
    "search",
    "spaces",
]
