"""The README's Python example runs as written (no data folder needed), at a small
size: 8 seeds instead of 100, NSGA-II over 4 seeds of 100 queries instead of 10 of 500
(the same calls, compiled for smaller batches)."""

import pathlib
import re

README = pathlib.Path(__file__).parents[2] / "README.md"
SMALLER = (
    (
        "jax.random.split(jax.random.key(0), 100)",
        "jax.random.split(jax.random.key(0), 8)",
    ),
    ("keys[:10], 500", "keys[:4], 100"),
)


def test_python_example_runs(capsys):
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    for written, small in SMALLER:
        assert written in block, f"the README's example no longer holds {written!r}"
        block = block.replace(written, small)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.best_objective_report.shape == (8, 100)
    assert namespace["fronts"].objective.shape[:2] == (4, 100)
    assert namespace["on_front"].shape == (4, 100) and namespace["on_front"].any()
    assert int(namespace["graphs"].n_node.shape[0]) == 32
    printed = capsys.readouterr().out.split()
    assert 60 < float(printed[-1]) < 73.52  # mean test acc of best-by-validation


def test_configuring_example_runs(capsys):
    """The "Configuring a strategy" block as written: 3 traced rates x 4 seeds."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    (block,) = [b for b in blocks if "with_params" in b]
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["by_rate"].objective.shape == (3, 4, 100, 2)
    assert "NSGA2Params(crossover_rate=0.9)" in capsys.readouterr().out
    assert namespace["bananas"] == namespace["nasjax"].search.bananas(
        namespace["space"], batch_size=10
    )


def test_ci_runs_the_readme_test_command():
    pattern = r"export NASJAX_DATA=\.\./shared/data\n(.*)\n```"
    command = re.search(pattern, README.read_text())
    ci = (README.parent / ".ci" / "run").read_text()
    assert command and command.group(1) in ci
