"""Few-shot latency prediction for a new device: pre-train a hardware prior on the
benchmark devices, adapt it from a handful of measurements, predict the whole space.

```python
prior = fewshot.pretrain(space, table.archs, latencies)  # [A, T] of training devices
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
from nasjax.fewshot.protocol import HELP_PUBLISHED, HELP_SPLITS, evaluate_grid

__all__ = [
    "Adapted",
    "HELP_PUBLISHED",
    "HELP_SPLITS",
    "HardwarePrior",
    "adapt",
    "check_samples",
    "evaluate_grid",
    "features",
    "predict",
    "pretrain",
    "select",
]
