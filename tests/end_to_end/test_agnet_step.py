"""benchmarks/agnet_step.py: its bad options exit 2 and its step count is the
strategy's (``ticks x ceil(models / train_batch_size)``)."""

import importlib.util
import pathlib
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "benchmarks" / "agnet_step.py"


@pytest.fixture(scope="module")
def agnet_step():
    spec = importlib.util.spec_from_file_location("agnet_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.mark.parametrize(
    "argv", [["--models", "8"], ["--repeats", "0"], ["--decoders", "rnn"]]
)
def test_bad_options_exit_2(agnet_step, argv, capsys):
    assert agnet_step.main(argv) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_one_tell_runs_the_strategys_steps(agnet_step):
    figures = agnet_step.timed_tell("oneshot", 40, repeats=1)
    assert figures["steps"] == 30 * 3  # 30 ticks x ceil(40 / 16)
    assert figures["min_ms"] > 0
