"""Few-shot latency prediction for a new device: pre-train a hardware prior on the
benchmark devices, adapt it from a handful of measurements, predict the whole space.

```python
prior = fewshot.table_prior(space, table, fewshot.latency_columns(table))
rows = fewshot.select(prior, space, candidates, k=10)  # what to measure
adapted = fewshot.adapt(prior, space, candidates[rows], measured_ms)
latency = fewshot.predict(adapted, space, space.enumerate())  # ms
```
"""

from nasjax.fewshot.model import (
    Adapted,
    HardwarePrior,
    adapt,
    check_samples,
    features,
    predict,
    pretrain,
    select,
)
from nasjax.fewshot.protocol import (
    HELP_PUBLISHED,
    HELP_PUBLISHED_MEAN,
    HELP_SPLITS,
    evaluate_grid,
    latency_columns,
    table_prior,
)

__all__ = [
    "Adapted",
    "HELP_PUBLISHED",
    "HELP_PUBLISHED_MEAN",
    "HELP_SPLITS",
    "HardwarePrior",
    "adapt",
    "check_samples",
    "evaluate_grid",
    "features",
    "latency_columns",
    "predict",
    "pretrain",
    "select",
    "table_prior",
]
