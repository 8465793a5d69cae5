"""Search strategies (pure ``init/ask/tell``) and the loop that runs them."""

from nasjax.search.agnet import AGNetState, agnet, agnet_hw
from nasjax.search.bananas import BananasState, bananas
from nasjax.search.brp import BRPState, brp
from nasjax.search.evolution import (
    EvolutionState,
    multi_objective_evolution,
    regularized_evolution,
)
from nasjax.search.local_search import LocalSearchState, local_search
from nasjax.search.npenas import NPENASState, npenas
from nasjax.search.nsga2 import NSGA2State, nsga2
from nasjax.search.random import RandomState, random_search
from nasjax.search.sharded import run_sharded, seed_mesh
from nasjax.search.strategy import SearchResult, Strategy, run, run_seeds

# Every strategy factory by CLI name; each takes (space, **options).
ALL = {
    "random": random_search,
    "rea": regularized_evolution,
    "nsga2": nsga2,
    "mo-rea": multi_objective_evolution,
    "brp": brp,
    "agnet": agnet,
    "agnet-hw": agnet_hw,
    "local-search": local_search,
    "bananas": bananas,
    "npenas": npenas,
}
# Factories taking num_objectives >= 2.
MULTI_OBJECTIVE = ("nsga2", "mo-rea", "agnet-hw")


def get(name: str):
    """The strategy factory called ``name``; ``ValueError`` lists the valid names."""
    if name not in ALL:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(ALL)}")
    return ALL[name]


__all__ = [
    "AGNetState",
    "ALL",
    "BRPState",
    "BananasState",
    "EvolutionState",
    "LocalSearchState",
    "MULTI_OBJECTIVE",
    "NPENASState",
    "NSGA2State",
    "RandomState",
    "SearchResult",
    "Strategy",
    "agnet",
    "agnet_hw",
    "bananas",
    "brp",
    "get",
    "local_search",
    "multi_objective_evolution",
    "npenas",
    "nsga2",
    "random_search",
    "regularized_evolution",
    "run",
    "run_seeds",
    "run_sharded",
    "seed_mesh",
]
