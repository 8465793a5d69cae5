"""``nasjax predict`` and the predictor API on small configurations."""

import json

import jax
import numpy as np
import pytest

from nasjax import surrogates


def _conv_count_file(tmp_path, nb201_space, rows=80):
    """A user's measurement file: a latency-like value growing with conv3x3 edges."""
    archs = np.asarray(nb201_space.from_index(np.linspace(0, 15624, rows).astype(int)))
    value = 1.0 + (archs == 3).sum(1) + 0.5 * (archs == 2).sum(1)
    path = tmp_path / "my_device.csv"
    lines = ["arch,latency_ms"]
    lines += [f"{nb201_space.to_string(a)},{v}" for a, v in zip(archs, value)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_predict_on_a_users_file(run_cli, tmp_path, nb201_space):
    path = _conv_count_file(tmp_path, nb201_space)
    out = tmp_path / "out"
    argv = ["predict", "--file", str(path), "--value-column", "latency_ms"]
    argv += ["--train", "40", "--epochs", "40", "--out", str(out), "--json"]
    code, printed, _ = run_cli(argv)
    assert code == 0
    report = json.loads(printed)
    assert report["config"]["predictor"] == "latency"
    assert report["config"]["test"] == 40
    metrics = report["metrics"]
    assert metrics["kendall_tau"] > 0.3
    assert 0.0 <= metrics["within_10pct"] <= 1.0
    rows = (out / "predictions.csv").read_text().splitlines()
    assert rows[0] == "arch,value,predicted,split" and len(rows) == 81
    assert sum(r.endswith(",train") for r in rows) == 40
    assert json.loads((out / "metrics.json").read_text())["metrics"] == metrics


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--file", "missing.csv"], "no such file"),
        (["--file", "{bad}", "--value-column", "nope"], "has no column 'nope'"),
        (
            ["--file", "{bad}", "--value-column", "latency_ms", "--train", "1"],
            "--train",
        ),
        (["--file", "{garbled}", "--value-column", "latency_ms"], "--file"),
    ],
)
def test_bad_predict_input_exits_2(argv, expected, run_cli, tmp_path, nb201_space):
    good = _conv_count_file(tmp_path, nb201_space, rows=10)
    garbled = tmp_path / "garbled.csv"
    garbled.write_text("arch,latency_ms\nnot-an-arch,1.0\n")
    argv = [
        a.replace("{bad}", str(good)).replace("{garbled}", str(garbled)) for a in argv
    ]
    code, _, err = run_cli(["predict", *argv, "--out", str(tmp_path / "o")])
    assert code == 2
    assert expected in err and len(err.strip().splitlines()) == 1


def test_predict_table_column_with_too_many_training_archs_exits_2(run_cli, tmp_path):
    argv = ["predict", "--column", "cifar100/valid_acc", "--train", "20000"]
    code, _, err = run_cli(argv)  # the shipped table
    assert code == 2 and "architectures to test" in err


def test_transfer_copies_all_but_the_last_layer(nb201_space):
    archs = np.asarray(nb201_space.from_index(np.arange(0, 15625, 500)))
    values = (archs == 3).sum(1).astype(float)
    key = jax.random.key(0)
    latency = surrogates.train_predictor(
        nb201_space, archs, values, key, predictor="latency", mode="fast", epochs=2
    )
    accuracy = surrogates.train_predictor(
        nb201_space,
        archs,
        values,
        key,
        predictor="brp",
        mode="fast",
        epochs=1,
        init_from=latency.params,
        warmup_epochs=2,
    )
    assert accuracy.params["params"]["out"]["kernel"].shape == (1200, 2)
    assert accuracy.model.head == "binary"
    with pytest.raises(ValueError, match="unknown predictor"):
        surrogates.train_predictor(nb201_space, archs, values, key, predictor="x")


def test_evaluate_metrics_on_known_orders():
    true = np.arange(1.0, 101.0)
    perfect = surrogates.evaluate(
        true * 2, true, higher_is_better=True, values_predicted=False
    )
    assert perfect["kendall_tau"] == pytest.approx(1.0)
    assert perfect["precision_at_10"] == 1.0 and perfect["regret_at_1"] == 0.0
    # A latency: lower is better, so the predicted best is the smallest prediction.
    reversed_ = surrogates.evaluate(
        -true, true, higher_is_better=False, values_predicted=True
    )
    assert reversed_["regret_at_1"] == 99.0 and reversed_["precision_at_10"] == 0.0
    assert reversed_["within_20pct"] == 0.0
