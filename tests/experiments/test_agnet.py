"""The AG-Net experiment script end to end, in its tiny ``--quick`` setting."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "experiments" / "agnet.py"


def _run(arguments):
    env = {k: v for k, v in os.environ.items() if k != "NASJAX_DATA"}  # shipped
    command = [sys.executable, str(SCRIPT), *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def test_quick_run_writes_tables_plots_and_resumes(tmp_path):
    out = tmp_path / "agnet"
    first = _run(["--quick", "--out", str(out)])
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Mean of empty slice" not in first.stderr  # the hardware-gap curves
    markdown = (out / "agnet.md").read_text()
    assert "## (a) Search" in markdown and "## (b)" in markdown
    assert "91.61" in markdown  # the published AG-Net cifar10 validation accuracy
    assert "CIFAR-10" in markdown  # (b) says which latencies it used
    assert (out / "search_curves.png").stat().st_size > 0
    runs = sorted((out / "runs").glob("*.json"))
    assert len(runs) == 3 + 2  # (a): 3 methods; (b): Eq. 4 and Eq. 5 at one limit
    record = json.loads((out / "runs" / "a-cifar10-random-r2-q48-s0.json").read_text())
    assert len(record["best_valid"]) == 2 and len(record["best_valid"][0]) == 48
    # A rerun recomputes nothing; --stored-only renders without the missing method.
    stamps = {path: path.stat().st_mtime_ns for path in runs}
    (out / "runs" / "a-cifar10-rea-r2-q48-s0.json").unlink()
    stored = _run(["--quick", "--out", str(out), "--stored-only"])
    assert stored.returncode == 0, stored.stderr[-3000:]
    assert "| REA |" not in (out / "agnet.md").read_text()
    assert not (out / "runs" / "a-cifar10-rea-r2-q48-s0.json").exists()
    assert {p: p.stat().st_mtime_ns for p in runs if p.exists()} == {
        p: t for p, t in stamps.items() if p.exists()
    }


def test_bad_arguments_exit_2(tmp_path, monkeypatch, capsys):
    # In-process: argparse's exit 2 comes before any work (no JAX start-up to pay).
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import agnet

    bad = (["--methods", "nope"], ["--seeds", "0"], ["--hw-percentiles", "0,x"])
    for arguments in bad:
        with pytest.raises(SystemExit) as exit_info:
            agnet.main([*arguments, "--out", str(tmp_path)])
        assert exit_info.value.code == 2, arguments
        assert "error:" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
