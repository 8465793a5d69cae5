"""Accuracy-against-cost front plots that show the region a user chooses from.

Shared by ``nasjax search`` (``front.png``) and ``experiments/hwnasbench.py``
(``fronts.png``). The y range starts at the 5th percentile of the table's accuracies,
so the architectures with no input-output path (accuracy at chance, near-zero cost)
and the front's tail through them do not squash the rest; what is left out is said in
the legend. A cost axis spanning more than a factor 4 is logarithmic with ticks at
1-2-5 multiples of the powers of ten (more within a decade or so), written as plain
numbers, and no minor labels (which overlap).
"""

from __future__ import annotations

import numpy as np
from matplotlib import ticker

LOW_PERCENTILE = 5.0  # the y axis starts at this percentile of the table's values


def degenerate(space, archs: np.ndarray) -> np.ndarray:
    """``[A]`` bool: cells with no input-output path (NAS-Bench-201), else none."""
    if not hasattr(space, "is_connected"):
        return np.zeros(len(archs), bool)
    return ~np.asarray(space.is_connected(np.asarray(archs)))


def cost_ticks(axis, low: float, high: float) -> None:
    """A log x axis with plain-number ticks when ``high / low > 4``, else linear."""
    if low > 0 and high / low > 4:
        decades = np.log10(high / low)
        subs = (
            (1, 2, 5)
            if decades > 2.5
            else (1, 2, 3, 5)
            if decades > 1.2
            else (1, 1.5, 2, 3, 4, 5, 6, 8)
        )
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())
    axis.set_xlim(low, high)


def plot_front(
    axis,
    *,
    table_xy: np.ndarray,
    excluded: int,
    exact: np.ndarray,
    found: dict[str, np.ndarray],
    x_label: str,
    y_label: str,
) -> None:
    """Draws accuracy (y) against cost (x) on ``axis``.

    Args:
        table_xy: ``[A, 2]`` (cost, accuracy) of the table's architectures to show
            (degenerate ones already left out), drawn in grey.
        excluded: how many degenerate architectures were left out (for the legend).
        exact: ``[F, 2]`` (cost, accuracy) of the table's exact front.
        found: label -> ``[P, 2]`` (cost, accuracy) of a front found by a search.
        x_label, y_label: the axes' labels.
    """
    y_low = float(np.percentile(table_xy[:, 1], LOW_PERCENTILE))
    y_high = float(np.max(table_xy[:, 1]))
    shown_exact = exact[exact[:, 1] >= y_low]
    label = "all architectures"
    if excluded:
        label += f" ({excluded} disconnected cells at chance not shown)"
    axis.scatter(*table_xy.T, s=2, c="0.8", lw=0, label=label, rasterized=True)
    order = np.argsort(shown_exact[:, 0])
    axis.step(
        *shown_exact[order].T,
        where="post",
        color="k",
        lw=1,
        label=f"exact front of the table ({len(shown_exact)} above the axis start)",
    )
    x_values = [table_xy[:, 0].min(), shown_exact[:, 0].max()]
    for (name, points), marker in zip(found.items(), "os^Dv"):
        points = points[points[:, 1] >= y_low]
        points = points[np.argsort(points[:, 0])]
        axis.plot(
            *points.T, marker=marker, ms=4, lw=0.8, drawstyle="steps-post", label=name
        )
        if len(points):
            x_values.append(points[:, 0].max())
    low, high = min(x_values), max(x_values)
    cost_ticks(axis, low / 1.05, high * 1.05)
    axis.set_ylim(y_low, y_high + 0.03 * (y_high - y_low))
    axis.set_xlabel(x_label)
    axis.set_ylabel(y_label)
    axis.grid(alpha=0.3, which="major")
    axis.legend(
        fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False
    )
