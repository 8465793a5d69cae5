"""Search spaces: static configs with pure, jittable functions over integer arrays.

``nasjax.spaces.nb201()`` etc. build a space; the modules of the same names hold their
constants (``from nasjax.spaces.nb201 import OPS``). A new space adds its module and
an entry in :data:`SPACES`; its other forms are found by name (its adapter in
:mod:`nasjax.encodings`, its networks in :mod:`nasjax.networks`; README, "Adding a
search space").
"""

from nasjax.spaces._base import SearchSpace
from nasjax.spaces.fbnet import FBNetSpace, fbnet
from nasjax.spaces.nb101 import NB101Space, nb101
from nasjax.spaces.nb201 import NB201Space, nb201

SPACES = {"nb201": nb201, "nb101": nb101, "fbnet": fbnet}


def get(name: str) -> SearchSpace:
    """The search space called ``name``; ``ValueError`` lists the valid names."""
    if name not in SPACES:
        raise ValueError(f"unknown search space {name!r}; choose from {sorted(SPACES)}")
    return SPACES[name]()


__all__ = [
    "FBNetSpace",
    "NB101Space",
    "NB201Space",
    "SPACES",
    "SearchSpace",
    "fbnet",
    "get",
    "nb101",
    "nb201",
]
