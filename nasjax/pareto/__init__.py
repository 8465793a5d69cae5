"""Pareto tools: dominance, non-dominated sorting, crowding, hypervolume, IGD
(jittable, in :mod:`nasjax.pareto._core`), and :func:`analyse`, the fronts and
hypervolumes of recorded searches against a table's exact front
(:mod:`nasjax.pareto.analysis`)."""

from nasjax.pareto._core import (
    crowding_distance,
    dominates,
    domination_matrix,
    hypervolume,
    hypervolume_2d,
    hypervolume_3d,
    igd,
    igd_plus,
    minimisation_signs,
    non_dominated,
    normalise,
    pareto_ranks,
    table_front,
)
from nasjax.pareto.analysis import Analysis, analyse, lookup_values

__all__ = [
    "Analysis",
    "analyse",
    "crowding_distance",
    "dominates",
    "domination_matrix",
    "hypervolume",
    "hypervolume_2d",
    "hypervolume_3d",
    "igd",
    "igd_plus",
    "lookup_values",
    "minimisation_signs",
    "non_dominated",
    "normalise",
    "pareto_ranks",
    "table_front",
]
