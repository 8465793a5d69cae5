"""Sweep specs: checks of flags and spec files, the plan, the grid and its ids."""

import dataclasses
import json

import pytest

from nasjax import sweep

SMALL = {"seeds": 3, "queries": 20}


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "argv, spec, expected",
    [
        (["--strategies", "rea,bayes"], None, "'npenas', 'nsga2', 'random', 'rea']"),
        (["--datasets", "mnist"], None, "choose from ['ImageNet16-120', 'cifar10'"),
        (["--limits", "5,fast", "--devices", "edgegpu"], None, "numbers or 'none'"),
        (["--limits", "5"], None, "a limit needs a device"),
        (["--seeds", "0"], None, "argument --seeds: must be a positive integer"),
        ([], "{not json", "is not JSON"),
        ([], '{"strategies": ["rea"], "budget": 3}', "valid keys: ['space'"),
        ([], '{"seeds": "ten"}', "'seeds' must be an integer"),
        ([], '{"strategies": "rea"}', "must be a list of strings"),
        ([], '{"limits": [5, true]}', "must be a list of numbers"),
        ([], "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_spec_exits_2_with_one_line(argv, spec, expected, run_cli, tmp_path):
    if spec is not None:
        (tmp_path / "spec.json").write_text(spec)
        argv = [*argv, "--spec", str(tmp_path / "spec.json")]
    code, _, err = run_cli(["sweep", "--out", str(tmp_path), *argv])
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--devices", "toaster"], "unknown device 'toaster'"),
        (["--devices", "edgegpu", "--limits", "0.01"], "no feasible architecture"),
    ],
)
def test_bad_grid_exits_2_before_running(
    argv, expected, run_cli, tmp_path, data_folder
):
    args = ["sweep", "--out", str(tmp_path), "--data", str(data_folder), "--json"]
    code, _, err = run_cli([*args, *argv])
    assert code == 2
    assert expected in err and "choose" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / sweep.CONFIGS_DIR).exists()


def test_plan_errors_name_the_choices(nb201_table):
    def config(**changes):
        spec = sweep.SweepSpec(devices=("edgegpu",), **SMALL)
        return dataclasses.replace(spec.configs()[0], **changes)

    with pytest.raises(ValueError, match="unknown objective column 'speed'.*choose"):
        sweep.plan(config(objectives=("speed",)), nb201_table)
    with pytest.raises(ValueError, match=r"choose a limit in \["):
        sweep.plan(config(limit=0.0), nb201_table)
    with pytest.raises(ValueError, match="needs a device or two"):
        sweep.plan(config(strategy="nsga2", device=None), nb201_table)
    plan = sweep.plan(config(strategy="nsga2", limit=5.0), nb201_table)
    assert plan.objectives == ("cifar10-valid/valid_acc", "cifar10/edgegpu_latency")
    assert plan.constraint == "cifar10/edgegpu_latency" and plan.num_objectives == 2


def test_grid_and_ids_are_stable():
    spec = sweep.SweepSpec(
        strategies=("rea", "nsga2"),
        datasets=("cifar10", "cifar100"),
        devices=("edgegpu", "raspi4"),
        limits=(5, 10),
        **SMALL,
    )
    configs = spec.configs()
    assert len(configs) == 16 and len({c.id for c in configs}) == 16
    assert configs[0].label == "rea cifar10 edgegpu<=5"
    assert configs[0].id.startswith("rea-cifar10-edgegpu-le5_")
    again = sweep.SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert [c.id for c in again.configs()] == [c.id for c in configs]
