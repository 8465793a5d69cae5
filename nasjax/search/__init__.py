"""Search strategies (pure ``init/ask/tell``) and the loop that runs them."""

from nasjax.search.evolution import EvolutionState, regularized_evolution
from nasjax.search.random import RandomState, random_search
from nasjax.search.strategy import SearchResult, Strategy, run, run_seeds

# Every strategy factory by CLI name; each takes (space, **options).
ALL = {"random": random_search, "rea": regularized_evolution}


def get(name: str):
    """The strategy factory called ``name``; ``ValueError`` lists the valid names."""
    if name not in ALL:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(ALL)}")
    return ALL[name]


__all__ = [
    "ALL",
    "EvolutionState",
    "RandomState",
    "SearchResult",
    "Strategy",
    "get",
    "random_search",
    "regularized_evolution",
    "run",
    "run_seeds",
]
