"""A sweep's grid: the spec (:class:`SweepSpec`, a JSON file or flags), its checks,
the configurations (:class:`Config`) and what each one runs (:func:`plan`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import re
from typing import Any, NamedTuple

import numpy as np

from nasjax import data, search, spaces
from nasjax.data.table import Table, within_limit
from nasjax.search.strategy import Strategy

# Bounds of the integer settings (a flag, or a key of a spec file).
BOUNDS = {
    "seeds": (1, 10**5),
    "seed": (0, 2**32 - 1),
    "queries": (1, 10**6),
    "batch_size": (1, 10**4),
    "hv_every": (1, 10**6),
}


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A grid of configurations for one search space.

    Attributes:
        space: search-space name (``nb201``).
        strategies: names in :data:`nasjax.search.REGISTRY`.
        datasets: datasets of :func:`nasjax.data.search_columns`.
        devices: hardware devices (:func:`nasjax.data.device_column`); empty: none.
        limits: constraint limits on the device latency (ms); ``None`` in the list
            means unconstrained; empty: unconstrained only.
        seeds: seeds per configuration (vmapped in one call).
        seed: base PRNG seed; every configuration uses the same ``seeds`` keys.
        queries: unique queries per seed.
        objectives: columns replacing the default objectives, or ``None``.
        batch_size: architectures asked per round, or ``None`` for each default.
        hv_every: queries between hypervolume points; ``None``: ``ceil(Q / 100)``.
    """

    space: str = "nb201"
    strategies: tuple[str, ...] = ("rea",)
    datasets: tuple[str, ...] = ("cifar10",)
    devices: tuple[str, ...] = ()
    limits: tuple[float | None, ...] = ()
    seeds: int = 10
    seed: int = 0
    queries: int = 100
    objectives: tuple[str, ...] | None = None
    batch_size: int | None = None
    hv_every: int | None = None

    @classmethod
    def from_dict(cls, spec: Any) -> SweepSpec:
        """Checks keys and types of a JSON object. Raises ``ValueError``."""
        if not isinstance(spec, dict):
            raise ValueError(
                f"a sweep spec must be a JSON object, got {type(spec).__name__}"
            )
        keys = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(spec) - set(keys))
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown} in the sweep spec; valid keys: {keys}"
            )
        values = {}
        for name, value in spec.items():
            values[name] = _check_type(name, value)
        return cls(**values)

    def to_dict(self) -> dict:
        """The JSON object of this spec (lists for tuples)."""
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()
        }

    def configs(self) -> list[Config]:
        """The grid, dataset-major (a strategy's limits run one after another)."""
        if min(self.seeds, self.queries) < 1 or (
            self.batch_size is not None and self.batch_size < 1
        ):
            raise ValueError("seeds, queries and batch_size must be positive integers")
        if self.hv_every is not None and self.hv_every < 1:
            raise ValueError("hv_every must be a positive integer")
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
        if self.limits and not self.devices and any(x is not None for x in self.limits):
            raise ValueError("a limit needs a device to constrain (--devices)")
        if not self.strategies or not self.datasets:
            raise ValueError("a sweep needs at least one strategy and one dataset")
        if self.space not in data.SEARCH_COLUMNS:
            raise ValueError(
                f"unknown space {self.space!r}; choose from "
                f"{sorted(data.SEARCH_COLUMNS)}"
            )
        for name in self.strategies:
            search.get(name)  # names the valid strategies
        for dataset in self.datasets:
            data.search_columns(self.space, dataset)  # names the valid datasets
        hv_every = self.hv_every or max(1, math.ceil(self.queries / 100))
        return [
            Config(
                space=self.space,
                strategy=strategy,
                dataset=dataset,
                device=device,
                limit=None if limit is None else float(limit),
                seeds=self.seeds,
                seed=self.seed,
                queries=self.queries,
                objectives=self.objectives,
                batch_size=self.batch_size,
                hv_every=hv_every,
            )
            for dataset in self.datasets
            for device in (self.devices or (None,))
            for strategy in self.strategies
            for limit in (
                self.limits if device is not None and self.limits else (None,)
            )
        ]


_TYPES = {
    "space": "str",
    "strategies": "strs",
    "datasets": "strs",
    "devices": "strs",
    "limits": "limits",
    "seeds": "int",
    "seed": "int",
    "queries": "int",
    "objectives": "strs?",
    "batch_size": "int?",
    "hv_every": "int?",
}


def _check_type(name: str, value: Any):
    kind = _TYPES[name]
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and is_int:
        return value
    if kind == "strs" and isinstance(value, list):
        if all(isinstance(v, str) and v for v in value):
            return tuple(value)
    if kind == "limits" and isinstance(value, list):
        numbers = (v is None or _is_number(v) for v in value)
        if all(numbers):
            return tuple(value)
    expected = {
        "str": "a string",
        "int": "an integer",
        "strs": "a list of strings",
        "limits": "a list of numbers (null: unconstrained)",
    }[kind]
    optional = " or null" if _TYPES[name].endswith("?") else ""
    raise ValueError(
        f"sweep spec key {name!r} must be {expected}{optional}, got {value!r}"
    )


def _is_number(value) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Reads a JSON spec file. Host-side. Raises ``ValueError`` when malformed."""
    try:
        text = pathlib.Path(path).read_text()
    except OSError as error:
        raise ValueError(f"cannot read the sweep spec {str(path)!r}: {error}") from None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"the sweep spec {str(path)!r} is not JSON: {error}; expected an object "
            f"with keys {list(_TYPES)}"
        ) from None
    return SweepSpec.from_dict(spec)


@dataclasses.dataclass(frozen=True)
class Config:
    """One configuration of a sweep: a strategy on a dataset (and device, limit)."""

    space: str
    strategy: str
    dataset: str
    device: str | None
    limit: float | None
    seeds: int
    seed: int
    queries: int
    objectives: tuple[str, ...] | None
    batch_size: int | None
    hv_every: int

    def to_dict(self) -> dict:
        config = dataclasses.asdict(self)
        if self.objectives is not None:
            config["objectives"] = list(self.objectives)
        return config

    @property
    def label(self) -> str:
        """``rea cifar100 edgegpu<=5``."""
        text = f"{self.strategy} {self.dataset}"
        if self.device is not None:
            text += f" {self.device}"
            if self.limit is not None:
                text += f"<={self.limit:g}"
        if self.objectives:
            text += f" [{','.join(self.objectives)}]"
        return text

    @property
    def id(self) -> str:
        """A readable slug and a hash of the canonical JSON: a stable file name."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
        parts = [self.strategy, self.dataset, self.device or "nodevice"]
        if self.limit is not None:
            parts.append(f"le{self.limit:g}")
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", "_".join(parts)).strip("-")
        return f"{slug}_{digest}"


class Plan(NamedTuple):
    """What a configuration runs: resolved columns and the strategy's arity."""

    objectives: tuple[str, ...]  # told to the strategy (M = num_objectives)
    report: str
    constraint: str | None
    limit: float | None
    front: tuple[str, ...] | None  # columns of the hypervolume and fronts
    num_objectives: int


def _strategy(
    space: str, name: str, num_objectives: int, batch_size: int | None
) -> Strategy:
    """The strategy of a configuration (equal settings: equal strategies, so its
    jitted run compiles once per sweep)."""
    return search.entry(name).make(
        spaces.get(space),
        batch_size=batch_size,
        num_objectives=num_objectives if num_objectives > 1 else None,
    )


def _is_multi_objective(space: str, name: str) -> bool:
    del space  # the same for every space
    return search.entry(name).num_objectives > 1


def plan(config: Config, table: Table) -> Plan:
    """Resolves a configuration's columns against ``table``. Host-side.

    Raises:
        ValueError: unknown strategy, dataset, device or column; a limit without a
            device or with no feasible architecture; a multi-objective strategy with
            fewer than two objectives. The message names the valid choices.
    """
    if config.space not in data.SEARCH_COLUMNS:
        raise ValueError(
            f"unknown space {config.space!r}; choose from {sorted(data.SEARCH_COLUMNS)}"
        )
    search.get(config.strategy)  # names the valid strategies
    objective, report = data.search_columns(config.space, config.dataset)
    for column in (config.objectives or ()) + (objective, report):
        if column not in table.columns:
            raise ValueError(
                f"unknown objective column {column!r}; choose from "
                f"{list(table.column_names)}"
            )
    latency = None
    if config.device is not None:
        latency = data.device_column(table, config.dataset, config.device)
    constraint = None
    if config.limit is not None:
        if latency is None:
            raise ValueError("a limit needs a device to constrain (--devices)")
        constraint = latency
        values = np.asarray(table.values(latency), dtype=np.float64)
        feasible = within_limit(values, latency, config.limit)
        if not feasible.any():
            known = values[~np.isnan(values)]
            raise ValueError(
                f"limit {config.limit:g} on {latency} leaves no feasible architecture;"
                f" choose a limit in [{known.min():.4g}, {known.max():.4g}]"
            )
    primary = config.objectives[0] if config.objectives else objective
    if config.objectives and len(config.objectives) > 1:
        front = tuple(config.objectives)
    elif latency is not None:
        front = (primary, latency)
    else:
        front = None
    if _is_multi_objective(config.space, config.strategy):
        if front is None:
            raise ValueError(
                f"multi-objective strategy {config.strategy!r} needs a device or two "
                "--objectives columns"
            )
        objectives = front
    else:
        objectives = (primary,)
    return Plan(objectives, report, constraint, config.limit, front, len(objectives))
