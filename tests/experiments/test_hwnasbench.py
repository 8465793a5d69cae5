"""The HW-NAS-Bench experiment script end to end, in its tiny ``--quick`` setting."""

import os
import pathlib
import re
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).parents[2] / "experiments" / "hwnasbench.py"
NUMBER = re.compile(r"-?\d+\.\d+")


def _section(markdown: str, title: str) -> str:
    start = markdown.index(title)
    end = markdown.find("\n## ", start + len(title))
    return markdown[start : None if end < 0 else end]


def test_quick_run_writes_tables_and_plots(tmp_path):
    out = tmp_path / "hwnasbench"
    env = {k: v for k, v in os.environ.items() if k != "NASJAX_DATA"}  # shipped
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "[hwnasbench]" in completed.stderr  # progress lines

    markdown = (out / "hwnasbench.md").read_text()
    for title in (
        "## (a) Kendall tau between devices",
        "## (b) Device-specific search",
        "## (c) Hypervolume of the fronts found",
        "## Wall time",
    ):
        section = _section(markdown, title)
        assert NUMBER.search(section), f"no numbers under {title!r}"
    kendall = _section(markdown, "## (a)")
    assert "### NAS-Bench-201" in kendall and "### FBNet" in kendall
    taus = [float(v) for v in NUMBER.findall(kendall.split("Architectures")[0])]
    assert all(-1.0 <= t <= 1.0 for t in taus)
    assert "CIFAR-10" in _section(markdown, "## (b)")
    assert "± " in _section(markdown, "## (c)")
    assert "exact front" in _section(markdown, "## (c)")
    for png in (
        "kendall_nb201.png",
        "kendall_fbnet.png",
        "hv_vs_queries.png",
        "fronts.png",
    ):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert not list(out.glob("*.tmp"))  # atomic writes leave no temporary files
