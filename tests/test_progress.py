"""The in-loop progress bar: fed from the compiled loop, results unchanged."""

import jax
import numpy as np
import pytest

from nasjax import _progress, search

FIELDS = ("archs", "objective", "report", "best_objective", "num_queries", "num_steps")


class CountingBar(_progress.Bar):
    """A bar that records what the compiled loop reported."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def update(self, done, rounds):
        self.calls.append((np.shape(done), int(np.sum(done)), rounds))
        return super().update(done, rounds)


@pytest.mark.parametrize(
    "name, objective",
    [
        ("rea", "cifar100/valid_acc"),
        ("nsga2", ("cifar100/valid_acc", "cifar10/edgegpu_latency")),
    ],
)
def test_same_results_with_and_without_progress(
    name, objective, synthetic_table, nb201_space, capsys
):
    strategy = search.get(name)(nb201_space)
    keys = jax.random.split(jax.random.key(1), 6)
    options = dict(objective=objective, report="cifar100/test_acc")
    plain = search.run_seeds(strategy, synthetic_table, keys, 30, **options)
    with CountingBar(6 * 30, name, interval=0.0) as bar:
        shown = search.run_seeds(
            strategy, synthetic_table, keys, 30, progress=True, **options
        )
        bar.finish_run(shown)
    for field in FIELDS:
        np.testing.assert_array_equal(
            getattr(plain, field), getattr(shown, field), err_msg=field
        )
    # One call per reported round with every seed's count, never one per seed.
    assert bar.calls and all(shape == (6,) for shape, _, _ in bar.calls)
    rounds = [r for _, _, r in bar.calls]
    assert rounds == sorted(set(rounds)) and rounds[0] == 1
    assert bar.calls[-1][1] <= 6 * 30
    assert bar.done_before == 6 * 30
    assert "180/180" in capsys.readouterr().err


def test_the_loop_calls_back_only_when_the_bar_asks(synthetic_table, nb201_space):
    strategy = search.regularized_evolution(nb201_space)
    keys = jax.random.split(jax.random.key(2), 3)
    with CountingBar(3 * 50, "rea", enabled=False, interval=3600.0) as bar:
        result = search.run_seeds(
            strategy,
            synthetic_table,
            keys,
            50,
            objective="cifar100/valid_acc",
            progress=True,
        )
    # Round 1 calibrates, round 2 measures the rate; an hour's interval then asks
    # for a round the run never reaches.
    assert [r for _, _, r in bar.calls] == [1, 2]
    assert int(np.max(result.num_steps)) > 2
    # With no active bar the loop is told never to call again.
    assert _progress._report(np.zeros(3), np.ones(3)).tolist() == [_progress.NEVER] * 3
