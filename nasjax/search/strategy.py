"""The ask/tell search loop over a benchmark table, and the pattern every strategy
follows.

A :class:`Strategy` is pure functions over a state pytree, as in evosax:
``init(key, params) -> state``, ``ask(key, state, params) -> (archs [B, S], state)``
and ``tell(state, archs [B, S], fitness, params) -> state`` with ``fitness [B]`` (one
objective) or ``[B, M]`` (``M = num_objectives``). Fitness is minimised; NaN marks an
architecture that was not evaluated and +inf one that violates the constraint (see
:func:`run`); :meth:`Strategy.tell` turns NaN into +inf before the strategy sees it.

Configuring a strategy, one pattern for all (as optax's factories and evosax's
``Params``):

* a frozen :class:`Settings` dataclass per strategy (``BRPSettings``,
  ``AGNetSettings``...) is the one home of its defaults and checks: a bad value raises
  ``ValueError`` naming it when the settings are made, before any work;
* the keyword factory (``search.brp(space, budget=50)``) is the user's face: it makes
  the settings from its keywords (an unknown one is a ``ValueError``) and closes the
  functions over them. Settings that fix a shape are static;
* settings that fix no shape (rates, loss weights, limits, scales) are *traced*: the
  settings' ``Params`` NamedTuple lists them, ``strategy.params`` holds their defaults
  and ``init/ask/tell`` (and :func:`run`) take a ``params`` pytree, so
  ``jax.vmap(lambda p: run(strategy, table, key, Q, p, ...))(stacked)`` runs several
  settings in one compiled program (:meth:`Strategy.with_params` makes such a pytree,
  checked).

Two strategies with the same settings on the same space are equal (and hash alike), so
a jitted :func:`run` compiles once per setting without any cache.

:func:`run` drives a strategy against a :class:`~nasjax.data.Table` inside one jitted
``lax.while_loop`` until it has made ``num_queries`` *unique* queries (a re-query of an
architecture already seen is free, as the papers count); ``jax.vmap`` it over keys to
run many seeds in one call. :func:`first_occurrence` and :func:`seen_in` are the
"already seen" tests the loop and the strategies share.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from nasjax import _progress
from nasjax.data.table import Table, higher_is_better, within_limit

State = Any
SEEDS_AXIS = "run_seeds"  # run_seeds' vmap axis


class NoParams(NamedTuple):
    """The traced hyperparameters of a strategy that has none."""


class Settings:
    """Base of the frozen settings dataclasses: ``Params`` names the traced fields.

    A subclass is a ``@dataclasses.dataclass(frozen=True)`` whose fields carry the
    defaults and whose ``__post_init__`` checks them; ``Params`` is a NamedTuple of
    the fields that fix no shape (traced), and :meth:`params` their values.
    """

    Params: ClassVar[type] = NoParams

    def params(self) -> NamedTuple:
        """The traced hyperparameters' values (Python floats: the defaults)."""
        return self.Params(*(getattr(self, name) for name in self.Params._fields))


def configure(settings_type: type, name: str, options: dict) -> Settings:
    """``settings_type(**options)``; an unknown option is a ``ValueError`` naming it."""
    known = [field.name for field in dataclasses.fields(settings_type)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"strategy {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"choose from {known}"
        )
    return settings_type(**options)


@dataclasses.dataclass(frozen=True, eq=False)
class Strategy:
    """A search strategy: pure ``init``/``ask``/``tell``, static sizes, its settings.

    Call :meth:`init`, :meth:`ask` and :meth:`tell` (``params`` defaults to
    :attr:`params`); the ``*_fn`` fields are the strategy's own functions, which
    always receive ``params``.
    """

    init_fn: Callable[[PRNGKeyArray, Any], State]
    ask_fn: Callable[[PRNGKeyArray, State, Any], tuple[Int[Array, "B S"], State]]
    tell_fn: Callable[[State, Int[Array, "B S"], Array, Any], State]
    batch_size: int
    name: str
    num_objectives: int = 1  # 1: told fitness [B]; M > 1: told fitness [B, M]
    params: Any = NoParams()  # default traced hyperparameters (a NamedTuple)
    settings: Settings | None = None  # with space: the strategy's identity
    space: Any = None

    def _identity(self) -> tuple:
        if self.settings is None:  # hand-made: identity by its functions
            return (self.init_fn, self.ask_fn, self.tell_fn, self.batch_size)
        return (self.name, self.num_objectives, self.settings, self.space)

    def __eq__(self, other) -> bool:
        return isinstance(other, Strategy) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _params(self, params):
        return self.params if params is None else params

    def init(self, key: PRNGKeyArray, params=None) -> State:
        """A fresh state."""
        return self.init_fn(key, self._params(params))

    def ask(self, key: PRNGKeyArray, state: State, params=None):
        """``(archs [B, S], state)``: the next batch to evaluate."""
        return self.ask_fn(key, state, self._params(params))

    def tell(self, state: State, archs: Int[Array, "B S"], fitness, params=None):
        """The state after ``fitness`` ``[B]`` or ``[B, M]`` (NaN is told as +inf:
        not evaluated ranks last)."""
        fitness = jnp.where(jnp.isnan(fitness), jnp.inf, fitness)
        return self.tell_fn(state, archs, fitness, self._params(params))

    def with_params(self, **changes) -> NamedTuple:
        """The traced hyperparameters with ``changes``, checked by the settings.

        Stack several (``jax.tree.map(lambda *x: jnp.stack(x), *many)``) to ``vmap``
        :func:`run` over them. ``ValueError``: a value out of range, or a setting
        that is static (it fixes a shape: make another strategy).
        """
        traced = type(self.params)._fields
        static = sorted(set(changes) - set(traced))
        if static or self.settings is None:
            raise ValueError(
                f"{', '.join(map(repr, static or changes))} not traced in "
                f"{self.name!r}; traced: {list(traced)}"
            )
        return dataclasses.replace(self.settings, **changes).params()


def first_occurrence(items: Array) -> Bool[Array, "P"]:
    """True at the first position of each distinct item along axis 0. Jittable.

    ``items`` ``[P]`` (ids: sort-based, O(P log P)) or ``[P, ...]`` (compared whole).
    """
    if items.ndim == 1:
        order = jnp.argsort(items, stable=True)
        ordered = items[order]
        first = jnp.concatenate([jnp.array([True]), ordered[1:] != ordered[:-1]])
        return jnp.zeros(items.shape, bool).at[order].set(first)
    same = _equal(items, items)
    return jnp.argmax(same, axis=1) == jnp.arange(items.shape[0])


def seen_in(
    items: Array, pool: Array, pool_mask: Bool[Array, "Q"] | None = None
) -> Bool[Array, "P"]:
    """Which of ``items`` ``[P, ...]`` equal a (masked-in) entry of ``pool``
    ``[Q, ...]``. Jittable; O(P Q)."""
    same = _equal(items, pool)
    if pool_mask is not None:
        same = same & pool_mask[None]
    return jnp.any(same, axis=1)


def _equal(items: Array, pool: Array) -> Bool[Array, "P Q"]:
    same = items[:, None] == pool[None]
    return jnp.all(same.reshape(*same.shape[:2], -1), axis=-1)


class SearchResult(NamedTuple):
    """The trace of one search, in query order (``Q = num_queries``).

    Entries past ``num_queries`` (if the step limit stopped the run early) are NaN and
    their archs ``-1``.
    """

    archs: Int[Array, "Q S"]  # the queried architectures
    objective: Array  # Float[Q]: the searched column; Float[Q, M] for M columns
    report: Float[Array, "Q"]  # the reported column (e.g. test accuracy)
    best_objective: Float[Array, "Q"]  # best (first) objective so far, "by validation"

    best_objective_report: Float[Array, "Q"]  # report value of that best-by-objective
    best_report: Float[Array, "Q"]  # best report so far (the oracle curve)
    num_queries: Int[Array, ""]  # unique queries made
    num_steps: Int[Array, ""]  # ask/tell rounds run
    state: State  # the strategy's final state


class _Carry(NamedTuple):
    key: PRNGKeyArray
    state: State
    archs: Int[Array, "Q S"]
    objective: Float[Array, "Q M"]
    report: Float[Array, "Q"]
    rows: Int[Array, "Q"]  # table row of each query, -1 = not yet made
    num_queries: Int[Array, ""]
    num_steps: Int[Array, ""]
    next_report: Int[Array, ""]  # the round at which to report progress next


def _classify_rows(rows: Int[Array, "B"], queried_rows: Int[Array, "Q"]):
    """For a batch's table rows: which were queried before, and which are new.

    Returns ``(seen, new, first)``: ``seen`` rows are in the trace; ``new`` marks the
    first occurrence in the batch of a row not seen before; ``first[i]`` is the batch
    position of row ``i``'s first occurrence. Compares against the trace (O(B Q))
    rather than keeping a bitmap of every table row: under ``vmap`` a ``while_loop``
    selects its whole carry every step, and such a bitmap would dominate that cost.
    """
    first = jnp.argmax(rows[:, None] == rows[None, :], axis=1)
    seen = seen_in(rows, queried_rows) & (rows >= 0)
    new = (rows >= 0) & ~seen & (first == jnp.arange(rows.size))
    return seen, new, first


def _best_so_far(values, companion, maximise: bool):
    """Running best of ``values`` (NaN never wins) and ``companion`` at that best."""
    sign = 1.0 if maximise else -1.0
    score = jnp.where(jnp.isnan(values), -jnp.inf, sign * values)

    def step(best, item):
        best_score, best_value, best_companion = best
        new_score, value, other = item
        better = new_score > best_score
        best = (
            jnp.where(better, new_score, best_score),
            jnp.where(better, value, best_value),
            jnp.where(better, other, best_companion),
        )
        return best, best[1:]

    init = (jnp.float32(-jnp.inf), jnp.float32(jnp.nan), jnp.float32(jnp.nan))
    _, (best, at_best) = jax.lax.scan(step, init, (score, values, companion))
    return best, at_best


@functools.partial(
    jax.jit,
    static_argnames=(
        "strategy",
        "num_queries",
        "objective",
        "report",
        "constraint",
        "max_steps",
        "progress",
        "axis_names",
    ),
)
def run(
    strategy: Strategy,
    table: Table,
    key: PRNGKeyArray,
    num_queries: int,
    params: Any = None,
    *,
    objective: str | tuple[str, ...],
    report: str | None = None,
    constraint: str | None = None,
    limit: float | Array = jnp.inf,
    max_steps: int | None = None,
    progress: bool = False,
    axis_names: tuple[str, ...] = (),
) -> SearchResult:
    """Runs ``strategy`` until ``num_queries`` unique architectures were queried.

    Jittable and vmappable over ``key`` (``jax.vmap(lambda k: run(...))(keys)`` runs
    many seeds in one call). Each round: ``ask`` a batch, look the batch up in
    ``table``, charge one query per architecture not queried before, ``tell`` the
    fitness. Re-queries are free and told their value; new architectures beyond the
    budget, and architectures missing from the table, are told NaN and not recorded.

    With a ``constraint`` column, an architecture whose value is over ``limit`` (under
    it for an accuracy column), or unknown, is infeasible: it is told +inf, costs no
    query and is not recorded, as a cost looked up in a table costs no training.

    Args:
        strategy: the strategy (static).
        table: the benchmark table (a pytree argument, not baked in).
        key: PRNG key.
        num_queries: ``Q``, the query budget (static).
        params: the strategy's traced hyperparameters (a pytree like
            ``strategy.params``; None: those defaults); ``vmap`` over a stacked one
            runs several settings in one compiled program.
        objective: the column the strategy optimises, or a tuple of ``M`` columns for
            a multi-objective strategy (static); fitness is each value, negated when
            higher is better. The curves of the result follow the first.
        report: the column reported alongside (static), default the first objective.
        constraint: a column that must stay within ``limit`` (static), or None.
        limit: the constraint's bound; traced, so a vmap over limits compiles once.
        max_steps: cap on ask/tell rounds (static); default ``10 * ceil(Q / B) + 100``.
        progress: report the queries and rounds done to the active
            :class:`nasjax._progress.Bar` (static); the results are the same.
        axis_names: names of the ``vmap`` axes this run is mapped over (static), so
            that the progress report is one call for all seeds (:func:`run_seeds`
            passes its own).

    Returns:
        A :class:`SearchResult`.
    """
    if table.num_rows == 0:
        raise ValueError("run needs a table with rows (architectures to look up)")
    objectives = (objective,) if isinstance(objective, str) else tuple(objective)
    if len(objectives) != strategy.num_objectives:
        raise ValueError(
            f"strategy {strategy.name!r} optimises {strategy.num_objectives} "
            f"objective(s), got {len(objectives)}: {objectives}"
        )
    report = objectives[0] if report is None else report
    maximise = higher_is_better(objectives[0])
    signs = jnp.array([-1.0 if higher_is_better(c) else 1.0 for c in objectives])
    batch = strategy.batch_size
    if max_steps is None:
        max_steps = 10 * -(-num_queries // batch) + 100
    num_slots = table.space.num_slots
    params = strategy.params if params is None else params

    def cond(carry: _Carry):
        going = (carry.num_queries < num_queries) & (carry.num_steps < max_steps)
        if progress:  # always true; it keeps the progress callback's output alive
            going = going & (carry.next_report > 0)
        return going

    def body(carry: _Carry) -> _Carry:
        key, ask_key = jax.random.split(carry.key)
        archs, state = strategy.ask(ask_key, carry.state, params)
        rows = table.rows(archs)
        values = jnp.stack([table.at_rows(rows, c) for c in objectives], axis=-1)
        reported = table.at_rows(rows, report)
        seen, new, first = _classify_rows(rows, carry.rows)
        infeasible = (rows >= 0) & ~_feasible(table, rows, constraint, limit)
        new = new & ~infeasible
        position = carry.num_queries + jnp.cumsum(new) - 1
        charged = new & (position < num_queries)
        known = seen | charged[first]  # a repeat in the batch shares its first's fate
        fitness = jnp.where(known[:, None], signs * values, jnp.nan)
        fitness = jnp.where(infeasible[:, None], jnp.inf, fitness)
        if strategy.num_objectives == 1:
            fitness = fitness[:, 0]
        state = strategy.tell(state, archs, fitness, params)
        slot = jnp.where(charged, position, num_queries)  # out of range -> dropped
        num_made = carry.num_queries + jnp.sum(charged)
        next_report = carry.next_report
        if progress:
            rounds, due = carry.num_steps + 1, carry.next_report
            for axis in axis_names:  # the same for all seeds: a real branch
                rounds, due = jax.lax.pmax(rounds, axis), jax.lax.pmax(due, axis)
            next_report = jax.lax.cond(
                rounds >= due,
                lambda: _progress.tick(num_made, carry.num_steps + 1),
                lambda: carry.next_report,
            )
        return _Carry(
            key=key,
            state=state,
            archs=carry.archs.at[slot].set(archs, mode="drop"),
            objective=carry.objective.at[slot].set(values, mode="drop"),
            report=carry.report.at[slot].set(reported, mode="drop"),
            rows=carry.rows.at[slot].set(rows, mode="drop"),
            num_queries=num_made,
            num_steps=carry.num_steps + 1,
            next_report=next_report,
        )

    init_key, loop_key = jax.random.split(key)
    empty = jnp.full((num_queries,), jnp.nan, jnp.float32)
    empty_objectives = jnp.full((num_queries, len(objectives)), jnp.nan, jnp.float32)
    carry = jax.lax.while_loop(
        cond,
        body,
        _Carry(
            key=loop_key,
            state=strategy.init(init_key, params),
            archs=jnp.full((num_queries, num_slots), -1, jnp.int32),
            objective=empty_objectives,
            report=empty,
            rows=jnp.full((num_queries,), -1, jnp.int32),
            num_queries=jnp.int32(0),
            num_steps=jnp.int32(0),
            next_report=jnp.int32(1),
        ),
    )
    best_objective, best_objective_report = _best_so_far(
        carry.objective[:, 0], carry.report, maximise
    )
    best_report, _ = _best_so_far(carry.report, carry.report, higher_is_better(report))
    return SearchResult(
        archs=carry.archs,
        objective=carry.objective[:, 0]
        if isinstance(objective, str)
        else carry.objective,
        report=carry.report,
        best_objective=best_objective,
        best_objective_report=best_objective_report,
        best_report=best_report,
        num_queries=carry.num_queries,
        num_steps=carry.num_steps,
        state=carry.state,
    )


def _feasible(table: Table, rows, constraint: str | None, limit) -> Array:
    """Which rows satisfy ``constraint`` within ``limit`` (all when there is none)."""
    if constraint is None:
        return jnp.ones(rows.shape, bool)
    return within_limit(table.at_rows(rows, constraint), constraint, limit)


def run_seeds(
    strategy: Strategy,
    table: Table,
    keys: PRNGKeyArray,
    num_queries: int,
    **kwargs,
) -> SearchResult:
    """:func:`run` vmapped over ``keys`` ``[R]``: every field gains a leading ``R``."""
    axis_names = (*kwargs.pop("axis_names", ()), SEEDS_AXIS)
    return jax.vmap(
        lambda k: run(strategy, table, k, num_queries, axis_names=axis_names, **kwargs),
        axis_name=SEEDS_AXIS,
    )(keys)
