"""Performance predictors: BRP-NAS's GCN, its heads and losses, and their training."""

from nasjax.surrogates.fit import FitConfig, FitResult, TrainingSet, evaluate_loss, fit
from nasjax.surrogates.gcn import (
    GCN,
    Predictor,
    comparator_ranking,
    dense_inputs,
    graph_inputs,
    init_params,
    pair_margins,
    scores,
)

__all__ = [
    "FitConfig",
    "FitResult",
    "GCN",
    "Predictor",
    "TrainingSet",
    "comparator_ranking",
    "dense_inputs",
    "evaluate_loss",
    "fit",
    "graph_inputs",
    "init_params",
    "pair_margins",
    "scores",
]
