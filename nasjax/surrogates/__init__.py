"""Performance predictors: BRP-NAS's GCN, its heads and losses, and their training."""

from nasjax.surrogates.fit import FitConfig, FitResult, TrainingSet, evaluate_loss, fit
from nasjax.surrogates.gcn import (
    GCN,
    Predictor,
    comparator_ranking,
    graph_inputs,
    init_params,
    pair_margins,
    scores,
)
from nasjax.surrogates.train import (
    PRESETS,
    TrainedPredictor,
    evaluate,
    predict,
    preset,
    train_predictor,
)

__all__ = [
    "PRESETS",
    "FitConfig",
    "FitResult",
    "GCN",
    "Predictor",
    "TrainedPredictor",
    "TrainingSet",
    "comparator_ranking",
    "evaluate",
    "evaluate_loss",
    "fit",
    "graph_inputs",
    "init_params",
    "pair_margins",
    "predict",
    "preset",
    "scores",
    "train_predictor",
]
