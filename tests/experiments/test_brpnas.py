"""The BRP-NAS experiment script end to end, in its tiny ``--quick`` setting."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "experiments" / "brpnas.py"


def test_quick_run_writes_tables_plots_and_resumes(tmp_path):
    out = tmp_path / "brpnas"
    # (b) trains the same predictors and strategy that tests/search/test_brp.py covers.
    command = [sys.executable, str(SCRIPT), "--quick", "--sections", "ac"]
    command += ["--out", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "NASJAX_DATA"}  # shipped
    first = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-3000:]
    markdown = (out / "brpnas.md").read_text()
    for title in ("## (a) Search", "## (c) Latency"):
        assert title in markdown
    assert "## (b)" not in markdown
    assert "72.15 / 72.34" in markdown  # the published BRP-NAS CIFAR-100 numbers
    assert (out / "search.png").stat().st_size > 0
    runs = sorted((out / "runs").glob("*.json"))
    assert len(runs) == 2 + 1
    search = json.loads((out / "runs" / "search-cifar100-brp-fast-2s.json").read_text())
    assert len(search["best_valid"]) == 2 and len(search["best_valid"][0]) == 20
    # A rerun finds every configuration stored and recomputes nothing.
    stamps = {path: path.stat().st_mtime_ns for path in runs}
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in runs} == stamps


@pytest.mark.parametrize(
    "option, values, message",
    [
        ("--quality-sizes", ("x", "25,1", ""), "--quality-sizes"),
        ("--datasets", ("cifar10", "cifar100,mnist", ""), "unknown dataset"),
    ],
)
def test_bad_option_exits_2(tmp_path, option, values, message, monkeypatch, capsys):
    # In-process: argparse's exit 2 comes before any work (no JAX start-up to pay).
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import brpnas

    for value in values:
        with pytest.raises(SystemExit) as exit_info:
            brpnas.main([option, value, "--out", str(tmp_path)])
        assert exit_info.value.code == 2, value
        assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_datasets_restrict_section_a(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import brpnas

    config = brpnas.get_config(datasets=("ImageNet16-120", "cifar100"))
    assert config.datasets == ("ImageNet16-120", "cifar100")
    assert brpnas.get_config().datasets == brpnas.DATASETS
