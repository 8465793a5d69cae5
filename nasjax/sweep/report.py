"""A sweep's report: ``summary.md`` (mean ± std over seeds per configuration),
``hypervolume.png`` and ``fronts.png`` (:func:`summarise`)."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasjax.io import mean_std, save_figure, write_atomic
from nasjax.sweep.record import FINAL_NAMES
from nasjax.sweep.store import CONFIGS_DIR, load_store


def summary_table(records: Sequence[dict]) -> str:
    """A markdown table: per configuration, mean ± std over seeds of the finals."""
    header = (
        "| strategy | dataset | device | limit | seeds | queries | best valid | "
        "test of best valid | best test | HV | table HV |"
    )
    lines = [header, "|" + " --- |" * 11]
    for record in records:
        config, final = record["config"], record["final"]
        hv = record["hypervolume"]
        limit = "–" if config["limit"] is None else f"{config['limit']:g}"
        cells = [
            config["strategy"],
            config["dataset"],
            config["device"] or "–",
            limit,
            str(config["seeds"]),
            str(config["queries"]),
            *(mean_std(final[n], missing="–") for n in FINAL_NAMES),
            mean_std(hv["final"], 4, missing="–") if hv else "–",
            f"{hv['table_hv']:.4f}" if hv else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summarise(
    out: str | os.PathLike, *, warn: Callable[[str], Any] | None = None
) -> str:
    """Writes ``summary.md``, ``hypervolume.png``, ``fronts.png``; returns the table.

    Files of the store that are not valid records are skipped (:func:`load_store`).

    Raises:
        ValueError: the store holds no valid record.
    """

    out = pathlib.Path(out)
    records = load_store(out, warn=warn)
    if not records:
        raise ValueError(
            f"no configurations in {str(out / CONFIGS_DIR)!r}; run a sweep first"
        )
    table = summary_table(records)
    normalisation = (
        "HV: hypervolume of the recorded points with each front column mapped to "
        "(v - best) / (worst - best) over the table's rows (0 = best, 1 = worst), "
        "reference (1, ..., 1); table HV: that of the table's exact feasible front.\n"
    )
    write_atomic(out / "summary.md", (table + "\n" + normalisation).encode())
    _plot_store(records, out)
    return table


def _groups(records: Sequence[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        if record["hypervolume"] is None:
            continue
        config = record["config"]
        key = (
            config["dataset"],
            config["device"],
            config["limit"],
            tuple(record["hypervolume"]["columns"]),
        )
        groups.setdefault(key, []).append(record)
    return groups


def _title(key: tuple) -> str:
    dataset, device, limit, _ = key
    text = f"{dataset}" + (f" {device}" if device else "")
    return text + (f" <= {limit:g}" if limit is not None else "")


def _plot_store(records: Sequence[dict], out: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = _groups(records) or {("no hypervolume", None, None, ()): []}
    num = len(groups)
    cols = min(num, 3)
    rows = -(-num // cols)
    for name in ("hypervolume", "fronts"):
        figure, axes = plt.subplots(
            rows, cols, figsize=(5 * cols, 4 * rows), squeeze=False
        )
        for axis in axes.flat[num:]:
            axis.set_visible(False)
        for axis, (key, group) in zip(axes.flat, groups.items()):
            (_plot_hv if name == "hypervolume" else _plot_fronts)(axis, group)
            axis.set_title(_title(key), fontsize=9)
            axis.grid(alpha=0.3)
        figure.tight_layout()
        save_figure(figure, out / f"{name}.png", dpi=110, tight=False)


def _plot_hv(axis, group: list[dict]) -> None:
    for record in group:
        hv = record["hypervolume"]
        curves = np.array(hv["curves"], dtype=np.float64)
        mean, std = np.nanmean(curves, 0), np.nanstd(curves, 0)
        axis.plot(hv["queries"], mean, label=record["config"]["strategy"])
        axis.fill_between(hv["queries"], mean - std, mean + std, alpha=0.2)
    if group:
        axis.axhline(
            group[0]["hypervolume"]["table_hv"], color="k", ls="--", label="table front"
        )
        axis.legend(fontsize=7)
    axis.set_xlabel("queries")
    axis.set_ylabel("hypervolume (normalised)")


def _plot_fronts(axis, group: list[dict]) -> None:
    if not group:
        return
    hv = group[0]["hypervolume"]
    exact = np.array(hv["table_front"], dtype=np.float64)
    axis.plot(exact[:, 0], exact[:, 1], "k.-", lw=1, label="table front", zorder=3)
    for record in group:
        points = [p for front in record["hypervolume"]["fronts"] for p in front]
        if points:
            points = np.array(points, dtype=np.float64)
            axis.scatter(
                points[:, 0],
                points[:, 1],
                s=8,
                alpha=0.4,
                label=f"{record['config']['strategy']} (all seeds)",
            )
    axis.set_xlabel(hv["columns"][0])
    axis.set_ylabel(hv["columns"][1])
    axis.legend(fontsize=7)
