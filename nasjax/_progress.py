"""A progress bar fed from inside a compiled search.

:func:`nasjax.search.run` with ``progress=True`` reports to the host from its
``while_loop`` through :func:`tick`, a ``jax.pure_callback`` with
``vmap_method="broadcast_all"``: under ``vmap`` (``run_seeds``, sweeps) the host sees
the queries of *all* seeds in one call, never one call per seed. A host callback costs
about 0.1 ms, more than a round of a fast search, so the loop calls it only on the
round the host asked for: the callback returns the next round to report at, chosen
from the measured time per round so that the bar is redrawn about twice a second, and
``run`` skips the callback (a ``lax.cond`` on the round counter, reduced over the seeds
axis so that it stays a real branch under ``vmap``) until then. The returned round
only gates the callback; the search's numbers are those of a run without it.

On the host, the values go to the innermost active :class:`Bar` (a ``tqdm`` bar on
stderr: queries done over all seeds, rounds, elapsed and estimated time); with no
active bar the callback asks never to be called again.

    with Bar(num_seeds * num_queries, "rea on nb201/cifar100") as bar:
        result = search.run_seeds(strategy, table, keys, num_queries, ...,
                                  progress=True)
        bar.finish_run(result)
"""

from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

_ACTIVE: list[Bar] = []


class Bar:
    """A bar of queries over one or more compiled runs (a context manager).

    Args:
        total: queries to make over all seeds and runs.
        description: what runs.
        enabled: False shows nothing (``--json``, ``--quiet``).
        interval: seconds between two redraws.
    """

    def __init__(
        self,
        total: int,
        description: str,
        *,
        enabled: bool = True,
        interval: float = 0.5,
    ):
        self.total = int(total)
        self.description = description
        self.enabled = enabled
        self.interval = interval
        self.done_before = 0  # queries of the runs already finished
        self.rounds_before = 0
        self._bar = None
        self._previous = None  # (time, round) of the current run's last call

    def __enter__(self) -> Bar:
        self._bar = tqdm.tqdm(
            total=self.total,
            desc=self.description,
            unit="query",
            unit_scale=True,
            file=sys.stderr,
            disable=not self.enabled,
            mininterval=self.interval,
            dynamic_ncols=True,
        )
        if self.enabled:
            self._bar.set_postfix_str("compiling")
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.remove(self)
        self._bar.close()

    def update(self, done, rounds: int) -> int:
        """Draws the current run's queries ``done`` (per seed) at round ``rounds``.

        Returns the round at which to be called next: about ``interval`` seconds
        later at the rate measured since the previous call (the next round on the
        first call of a run).
        """
        now = time.monotonic()
        self._draw(self.done_before + int(np.sum(done)), self.rounds_before + rounds)
        previous = self._previous
        self._previous = (now, rounds)
        if previous is None or rounds <= previous[1]:  # a new run
            return rounds + 1
        per_round = (now - previous[0]) / (rounds - previous[1])
        return rounds + int(np.clip(self.interval / max(per_round, 1e-9), 1, 2**20))

    def finish_run(self, result) -> None:
        """Counts a finished run (a ``SearchResult``, batched or not) for good."""
        self.done_before += int(np.sum(np.asarray(result.num_queries)))
        self.rounds_before += int(np.max(np.asarray(result.num_steps)))
        self._previous = None
        self._draw(self.done_before, self.rounds_before)

    def _draw(self, done: int, rounds: int) -> None:
        if self._bar.disable:
            return
        self._bar.n = min(done, self.total)
        self._bar.set_postfix_str(f"{rounds} rounds", refresh=False)
        self._bar.refresh()


NEVER = 2**30  # a round no run reaches


def _report(num_queries: np.ndarray, rounds: np.ndarray) -> np.ndarray:
    """Host side of :func:`tick`: draws the active bar, returns the next round."""
    next_round = (
        _ACTIVE[-1].update(num_queries, int(np.max(rounds))) if _ACTIVE else NEVER
    )
    return np.full(np.shape(num_queries), next_round, np.int32)


def tick(num_queries, rounds) -> jax.Array:
    """Reports a run's queries and rounds done to the host's bar. Traced.

    Returns the round (int32) at which to call it next. Batched under ``vmap`` (the
    host gets every seed's values in one call).
    """
    return jax.pure_callback(
        _report,
        jax.ShapeDtypeStruct((), jnp.int32),
        num_queries,
        rounds,
        vmap_method="broadcast_all",
    )


def finish_run(result) -> None:
    """Counts a finished run on the active bar, if any (see :meth:`Bar.finish_run`)."""
    if _ACTIVE:
        _ACTIVE[-1].finish_run(result)
