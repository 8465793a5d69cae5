"""Search spaces: static configs with pure, jittable functions over integer arrays."""

from nasjax.spaces._base import SearchSpace
from nasjax.spaces.nb201 import NB201Space, nb201

SPACES = {"nb201": nb201}


def get(name: str) -> SearchSpace:
    """The search space called ``name``; ``ValueError`` lists the valid names."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; choose from {sorted(SPACES)}")
    return SPACES[name]()


__all__ = ["SearchSpace", "NB201Space", "nb201", "get", "SPACES"]
