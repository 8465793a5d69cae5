"""The few-shot latency experiment script end to end, in a tiny setting."""

import pathlib
import re
import sys

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "experiments" / "help.py"
sys.path.insert(0, str(SCRIPT.parent))

import help as experiment  # noqa: E402

NUMBER = re.compile(r"0\.\d{3} ± 0\.\d{3}")


def test_tiny_run_writes_both_sections(data_folder, tmp_path):
    config = experiment.get_config(quick=True, brp_seeds=0)
    path = experiment.run_experiment(config, data_folder, tmp_path / "help")
    markdown = path.read_text()
    # (a): every meta-valid and meta-test device of both spaces, beside HELP's figure.
    for device in ("titan_rtx_256 (meta-test) | 0.987", "pixel2 (meta-test) | 0.802"):
        assert device in markdown
    assert "raspi4 (meta-test) | 0.887" in markdown  # FBNet
    a = markdown[markdown.index("## (a)") : markdown.index("## (b)")]
    assert len(NUMBER.findall(a)) >= 2 * (4 + 6) - 3  # a mean ± std per device
    # (b): one row per latency column, the worst device named, the plot written.
    b = markdown[markdown.index("## (b)") :]
    assert "`help/titanxp_256`" in b and "`cifar10/nasjax_cpu_latency`" in b
    assert "worst `" in b
    assert (tmp_path / "help" / "loo.png").stat().st_size > 10_000
    rho = [float(v.split(" ± ")[0]) for v in NUMBER.findall(b)]
    assert min(rho) > 0.3 and max(rho) <= 1.0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--sections", "c"], "--sections takes letters among a, b"),
        (["--brp-sizes", "10,x"], "--brp-sizes takes integers"),
        (["--seeds", "0"], "--seeds must be an integer from 1 to 1000"),
    ],
)
def test_bad_options_exit_2_with_one_sentence(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        experiment.main([*argv, "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
