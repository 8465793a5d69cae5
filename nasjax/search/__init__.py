"""Search strategies (pure ``init/ask/tell``) and the loop that runs them.

Every strategy follows one pattern (see :mod:`nasjax.search.strategy`): a frozen
settings dataclass holds its defaults and checks (``BRPSettings``...), the keyword
factory makes it (``search.brp(space, budget=50)``; a bad value is a ``ValueError``
before any work), and the hyperparameters that fix no shape are traced
(``strategy.params``, passed to ``run(..., params)``) so ``vmap`` runs several in one
compiled program. :data:`REGISTRY` names every factory with its arity.
"""

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

from nasjax.search._agnet_steps import AGNetState
from nasjax.search.agnet import AGNetHWSettings, AGNetSettings, agnet, agnet_hw
from nasjax.search.bananas import BananasSettings, BananasState, bananas
from nasjax.search.brp import BRPSettings, BRPState, brp
from nasjax.search.evolution import (
    EvolutionSettings,
    EvolutionState,
    MultiObjectiveEvolutionSettings,
    multi_objective_evolution,
    regularized_evolution,
)
from nasjax.search.local_search import (
    LocalSearchSettings,
    LocalSearchState,
    local_search,
)
from nasjax.search.npenas import NPENASSettings, NPENASState, npenas
from nasjax.search.nsga2 import NSGA2Settings, NSGA2State, nsga2
from nasjax.search.random import RandomSettings, RandomState, random_search
from nasjax.search.sharded import run_sharded, seed_mesh
from nasjax.search.strategy import (
    SearchResult,
    Settings,
    Strategy,
    run,
    run_seeds,
)


class Entry(NamedTuple):
    """A registered strategy: its factory, its settings class and
    ``num_objectives``: 1 (told fitness ``[B]``) or 2 (multi-objective, told
    ``[B, M]``)."""

    factory: Callable[..., Strategy]
    settings: type
    num_objectives: int

    def make(
        self,
        space,
        *,
        batch_size: int | None = None,
        num_objectives: int | None = None,
        **options,
    ) -> Strategy:
        """The strategy with the options any caller may pass.

        ``batch_size`` is passed when given (a strategy without one raises
        ``ValueError``); ``num_objectives`` when the settings take it, else it must
        equal the entry's (checked before any work).
        """
        if batch_size is not None:
            options["batch_size"] = batch_size
        fields = {field.name for field in dataclasses.fields(self.settings)}
        if num_objectives is not None and "num_objectives" in fields:
            options["num_objectives"] = num_objectives
        elif num_objectives not in (None, self.num_objectives):
            raise ValueError(
                f"{self.factory.__name__} optimises {self.num_objectives} "
                f"objective(s), got {num_objectives}"
            )
        return self.factory(space, **options)


# Every strategy by CLI name.
REGISTRY = {
    "random": Entry(random_search, RandomSettings, 1),
    "rea": Entry(regularized_evolution, EvolutionSettings, 1),
    "nsga2": Entry(nsga2, NSGA2Settings, 2),
    "mo-rea": Entry(multi_objective_evolution, MultiObjectiveEvolutionSettings, 2),
    "brp": Entry(brp, BRPSettings, 1),
    "agnet": Entry(agnet, AGNetSettings, 1),
    "agnet-hw": Entry(agnet_hw, AGNetHWSettings, 2),
    "local-search": Entry(local_search, LocalSearchSettings, 1),
    "bananas": Entry(bananas, BananasSettings, 1),
    "npenas": Entry(npenas, NPENASSettings, 1),
}


def get(name: str):
    """The strategy factory called ``name``; ``ValueError`` lists the valid names."""
    return entry(name).factory


def entry(name: str) -> Entry:
    """The :class:`Entry` called ``name``; ``ValueError`` lists the valid names."""
    if name not in REGISTRY:
        raise ValueError(f"unknown strategy {name!r}; choose from {sorted(REGISTRY)}")
    return REGISTRY[name]


__all__ = [
    "AGNetHWSettings",
    "AGNetSettings",
    "AGNetState",
    "BRPSettings",
    "BRPState",
    "BananasSettings",
    "BananasState",
    "Entry",
    "EvolutionSettings",
    "EvolutionState",
    "LocalSearchSettings",
    "LocalSearchState",
    "MultiObjectiveEvolutionSettings",
    "NPENASSettings",
    "NPENASState",
    "NSGA2Settings",
    "NSGA2State",
    "REGISTRY",
    "RandomSettings",
    "RandomState",
    "SearchResult",
    "Settings",
    "Strategy",
    "agnet",
    "agnet_hw",
    "bananas",
    "brp",
    "entry",
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
