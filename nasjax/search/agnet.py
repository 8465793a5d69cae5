"""AG-Net: a generator that learns where to look (Lukasik, Jung, Keuper, ECCV 2022).

The recipe of jovitalukasik/AG-Net (``Search_Tabular.py``, ``Search_HW.py``) as an
ask/tell strategy whose every round is one compiled program:

* round 0 asks ``batch_size`` (16) uniformly random architectures;
* every ``tell`` records the new values and retrains the generator and its surrogate
  jointly for ``ticks x ceil(N / train_batch_size)`` steps of ``train_batch_size``
  examples (``N`` the queried models), each example drawn with probability
  proportional to ``w = 1 / (weight_factor N + rank)`` (rank 0 = best) and its loss
  weighted by ``w`` again, as the reference does; loss
  ``(1 - alpha) recon + alpha mse`` (``agnet``) or
  ``(1 - alpha) recon + alpha (0.5 mse_lat + 0.5 mse_acc)`` (``agnet-hw``, each term
  divided by ``max(term, 1)`` per example), Adam(1e-3, betas 0.5, 0.999);
* every later ``ask`` decodes chunks of ``num_candidates`` (512) latents until more
  than ``num_ranked`` (100) decoded cells are fresh or ``max_chunks`` (8) chunks ran
  (the reference decodes 100, 200, ... 900 until it has more than 100 new valid
  cells), masks invalid cells, cells already queried and repeats, keeps a random
  ``num_ranked`` of the fresh ones and asks the surrogate's best ``batch_size``. All
  buffers have fixed shapes. If fewer than ``batch_size`` are fresh, uniformly random
  architectures fill the batch (the reference would add fewer that round).

The generator starts from one shared pretraining on uniformly sampled cells
(:func:`nasjax.generators.pretrain`, no queries), as the reference loads its
pretrained checkpoint; the surrogate and optimiser start fresh for every seed.

``agnet-hw`` is told fitness ``[B, 2]`` = (negated accuracy, latency) and ranks by
``rank = (acc_rank + joint lat_rank) x (1000 if latency > limit else 1)`` (AG-Net's
Eq. 4 with ``joint=1``, Eq. 5 with ``joint=0``), for the retraining weights (true
values) and the candidates (the surrogate's predictions). Its surrogate also reads the
one-hot of the target device, as the reference's does.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar

import jax
import numpy as np

from nasjax import generators
from nasjax.data.hwnasbench import DEVICES
from nasjax.generators import GeneratorConfig
from nasjax.search._agnet_steps import AGNetParams, make
from nasjax.search.strategy import Settings, Strategy, configure
from nasjax.spaces._base import SearchSpace

LATENTS = ("prior", "best")


@dataclasses.dataclass(frozen=True)
class AGNetSettings(Settings):
    """AG-Net's settings (the reference's values where it has one).

    Traced (:class:`AGNetParams`): ``alpha`` (and ``1 - alpha``), ``learning_rate``,
    ``weight_factor``, ``local_scale``, ``target_scale`` (and ``limit`` in
    :class:`AGNetHWSettings`); the others fix shapes or choose code.

    Attributes:
        mode: ``"agnet"`` (decoder-only) or ``"vae"``; decoder: ``"gnn"``
            (sequential, the reference's) or ``"oneshot"`` (both checked by
            :class:`~nasjax.generators.GeneratorConfig`).
        latent_dim, node_dim, hidden: 32, 32, 128 (one-shot width).
        ticks: retraining passes a round; None: the space's (30 on nb201, 15 on
            nb101).
        batch_size: models asked a round (16); train_batch_size: 16.
        num_candidates: latents a chunk (512), at most ``max_chunks`` (8) chunks a
            round, ``num_ranked`` (100) fresh candidates ranked by the surrogate.
        weight_factor: ``k`` of the retraining weights ``1 / (k N + rank)`` (0.01).
        alpha: the surrogate's loss weight (0.9; 0.95 hardware-aware).
        learning_rate: Adam's (1e-3, betas 0.5, 0.999).
        max_queries: capacity of the state (320); use at least the run's budget.
        latent: ``"prior"``, or ``"best"``: latents around those of the
            ``batch_size`` best queried models (their encodings in the VAE mode)
            plus ``local_scale`` (0.5) times Gaussian noise.
        target_scale: the surrogate regresses ``-fitness x target_scale`` (0.01:
            percent accuracy as a fraction, as the reference).
        pretrain_steps: shared pretraining steps (2000; 0: none), pretrain_seed: 0.
    """

    Params: ClassVar[type] = AGNetParams
    hardware: ClassVar[bool] = False
    mode: str = "agnet"
    decoder: str = "gnn"
    latent_dim: int = 32
    node_dim: int = 32
    hidden: int = 128
    ticks: int | None = None
    batch_size: int = 16
    train_batch_size: int = 16
    num_candidates: int = 512
    max_chunks: int = 8
    num_ranked: int = 100
    weight_factor: float = 0.01
    alpha: float = 0.9
    learning_rate: float = 1e-3
    max_queries: int = 320
    latent: str = "prior"
    local_scale: float = 0.5
    target_scale: float = 0.01
    pretrain_steps: int = 2000
    pretrain_seed: int = 0

    def __post_init__(self):
        checks = [
            (
                self.ticks is None or self.ticks >= 1,
                f"ticks must be >= 1, got {self.ticks}",
            ),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (
                self.train_batch_size >= 1,
                f"train_batch_size must be >= 1, got {self.train_batch_size}",
            ),
            (
                self.batch_size <= self.num_ranked <= self.num_candidates,
                "need batch_size <= num_ranked <= num_candidates, got "
                f"{self.batch_size}, {self.num_ranked}, {self.num_candidates}",
            ),
            (self.max_chunks >= 1, f"max_chunks must be >= 1, got {self.max_chunks}"),
            (0.0 <= self.alpha <= 1.0, f"alpha must be in [0, 1], got {self.alpha}"),
            (
                self.weight_factor > 0,
                f"weight_factor must be > 0, got {self.weight_factor}",
            ),
            (
                self.learning_rate > 0,
                f"learning_rate must be > 0, got {self.learning_rate}",
            ),
            (
                self.max_queries >= self.batch_size,
                f"max_queries must be >= batch_size, got {self.max_queries}",
            ),
            (
                self.latent in LATENTS,
                f"unknown latent {self.latent!r}; choose from {LATENTS}",
            ),
            (self.local_scale > 0, f"local_scale must be > 0, got {self.local_scale}"),
            (
                self.target_scale > 0,
                f"target_scale must be > 0, got {self.target_scale}",
            ),
            (
                self.pretrain_steps >= 0,
                f"pretrain_steps must be >= 0, got {self.pretrain_steps}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def params(self) -> AGNetParams:
        return AGNetParams(
            alpha=self.alpha,
            recon_weight=1.0 - self.alpha,
            learning_rate=self.learning_rate,
            weight_factor=self.weight_factor,
            local_scale=self.local_scale,
            target_scale=self.target_scale,
            limit=getattr(self, "limit", float("inf")),
        )


@dataclasses.dataclass(frozen=True)
class AGNetHWSettings(AGNetSettings):
    """Hardware-aware AG-Net's settings: :class:`AGNetSettings` and

    Attributes:
        alpha: 0.95 by default.
        limit: the latency limit ``L`` (ms; traced); ``inf`` ranks without a penalty.
        joint: 1 ranks by accuracy + latency ranks (Eq. 4), 0 by accuracy (Eq. 5),
            both with the penalty over ``limit``.
        device: the target device whose one-hot the surrogate reads (of
            :data:`DEVICES`; the latency values themselves come from ``run``).
    """

    hardware: ClassVar[bool] = True
    alpha: float = 0.95
    limit: float = float("inf")
    joint: int = 1
    device: str = "edgegpu"

    def __post_init__(self):
        super().__post_init__()
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; choose from {DEVICES}")
        if self.joint not in (0, 1):
            raise ValueError(
                f"joint must be 0 (Eq. 5) or 1 (Eq. 4), got {self.joint!r}"
            )
        if not self.limit > 0:
            raise ValueError(f"limit must be > 0, got {self.limit}")


def agnet(space: SearchSpace, **options) -> Strategy:
    """AG-Net on one objective (fitness ``[B]``, minimised; accuracies negated).

    Args:
        space: ``nb201()`` or ``nb101()``.
        **options: the fields of :class:`AGNetSettings`.

    Raises:
        ValueError: another space, or an option unknown or out of range.
    """
    return _build(space, configure(AGNetSettings, "agnet", options))


def agnet_hw(space: SearchSpace, **options) -> Strategy:
    """Hardware-aware AG-Net: fitness ``[B, 2]`` = (negated accuracy, latency).

    Args:
        space: ``nb201()`` or ``nb101()``.
        **options: the fields of :class:`AGNetHWSettings`.

    Raises:
        ValueError: another space, an unknown device, or an option out of range.
    """
    return _build(space, configure(AGNetHWSettings, "agnet-hw", options))


def _build(space: SearchSpace, settings: AGNetSettings) -> Strategy:
    format_ = generators.graph_format(space)  # ValueError for other spaces
    hardware = settings.hardware
    config = GeneratorConfig(
        format_,
        mode=settings.mode,
        decoder=settings.decoder,
        latent_dim=settings.latent_dim,
        node_dim=settings.node_dim,
        hidden=settings.hidden,
        num_outputs=2 if hardware else 1,
        num_conditions=len(DEVICES) if hardware else 0,
    )
    if settings.ticks is None:
        ticks = format_.ticks  # the space's: 30 on nb201, 15 on nb101
        settings = dataclasses.replace(settings, ticks=ticks)
    pretrained = None
    if settings.pretrain_steps:
        plain = dataclasses.replace(config, num_outputs=1, num_conditions=0)
        pretrained = _pretrained(plain, settings.pretrain_steps, settings.pretrain_seed)
    device = DEVICES.index(settings.device) if hardware else 0
    return make(space, config, settings, device, pretrained)


@functools.cache  # the result of a computation (not a compilation), shared by seeds
def _pretrained(config: GeneratorConfig, num_steps: int, seed: int):
    """The shared pretrained decoder (and encoder), as host arrays."""
    params, _ = generators.pretrain(jax.random.key(seed), config, num_steps=num_steps)
    return {
        k: jax.tree.map(np.asarray, v) for k, v in params.items() if k != "surrogate"
    }
