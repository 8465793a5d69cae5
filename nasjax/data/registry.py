"""Which files feed which table, loading them, and checking the data folder."""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable, Sequence

import numpy as np

from nasjax.data import fbnet, hwnasbench, latbench, measured, nats, nb101, nb201
from nasjax.data._files import DataError, data_dir
from nasjax.data.table import Table

LATBENCH_DIR = "latbench"  # the folder of LatBench device pickles in the data folder


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of the data folder and how to read it into a :class:`Table`."""

    name: str
    space: str
    what: str
    load: Callable[[pathlib.Path], Table]


FILES: tuple[DataFile, ...] = (
    # NAS-Bench-201: the tables of the project's data folder (see its PROVENANCE.md).
    DataFile(
        nb201.TEST_ACC_FILE,
        "nb201",
        "200-epoch test accuracy",
        nb201.load_test_accuracy,
    ),
    DataFile(
        nb201.VALID_ACC_FILE,
        "nb201",
        "200-epoch validation accuracy, train time",
        nb201.load_valid_accuracy,
    ),
    DataFile(
        nb201.LOW_FIDELITY_FILE, "nb201", "12-epoch accuracies", nb201.load_low_fidelity
    ),
    DataFile(
        nb201.HELP_FILE,
        "nb201",
        "HW-NAS-Bench eyeriss/fpga/pixel3/raspi4 + HELP latency",
        nb201.load_help_latency,
    ),
    DataFile(
        nb201.HWNASBENCH_FILE,
        "nb201",
        "HW-NAS-Bench edgegpu/edgetpu latency, energies",
        nb201.load_hwnasbench_partial,
    ),
    # Official downloads, read when present.
    DataFile(
        hwnasbench.PICKLE_FILE,
        "nb201",
        "official HW-NAS-Bench pickle (all 3 datasets)",
        hwnasbench.load_hwnasbench_nb201,
    ),
    DataFile(
        nats.SIMPLE_DIR, "nb201", "NATS-Bench TSS simple folder", nats.load_simple_in
    ),
    DataFile(
        nats.ARCHIVE_FILE, "nb201", "NATS-Bench TSS archive", nats.load_archive_in
    ),
    *(
        DataFile(
            name, "nb201", "NAS-Bench-201 .pth (needs torch)", nats.load_nb201_pth_in
        )
        for name in nats.NB201_PTH_FILES
    ),
    DataFile(
        LATBENCH_DIR,
        "nb201",
        "LatBench device pickles (BRP-NAS)",
        lambda folder: latbench.load_latbench_in(folder / LATBENCH_DIR),
    ),
    # FBNet.
    DataFile(
        fbnet.LUT_FILE,
        "fbnet",
        "HW-NAS-Bench FBNet block lookup table",
        fbnet.load_fbnet_lut,
    ),
    DataFile(
        fbnet.HELP_FILE,
        "fbnet",
        "HELP latency of 5,000 FBNet archs",
        fbnet.load_fbnet_help,
    ),
    DataFile(
        hwnasbench.PICKLE_FILE,
        "fbnet",
        "official HW-NAS-Bench pickle (FBNet part)",
        hwnasbench.load_hwnasbench_fbnet,
    ),
    # NAS-Bench-101 (official download).
    DataFile(
        nb101.TFRECORD_FILE,
        "nb101",
        "108-epoch accuracy, train time, params",
        nb101.load_nb101,
    ),
)

# Columns nasjax computes or measured itself, present with or without a data folder.
COMPUTED: dict[str, Callable[[], Table]] = {
    "nb201": lambda: nb201.analytic_costs().merge(measured.shipped_latency()),
    "fbnet": fbnet.analytic_costs,
}

# What a search on each dataset optimises and what it reports (as BRP-NAS and AG-Net).
SEARCH_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "nb201": {
        "cifar10": ("cifar10-valid/valid_acc", "cifar10/test_acc"),
        "cifar100": ("cifar100/valid_acc", "cifar100/test_acc"),
        "ImageNet16-120": ("ImageNet16-120/valid_acc", "ImageNet16-120/test_acc"),
    },
    "nb101": {"cifar10": ("cifar10/valid_acc", "cifar10/test_acc")},
}


def files_for(space: str) -> tuple[DataFile, ...]:
    """The data files that feed ``space``'s table."""
    return tuple(f for f in FILES if f.space == space)


def _load_parts(space: str, folder: pathlib.Path, *, strict: bool):
    """Tables of every present file of ``space`` and a status entry per file."""
    parts = [COMPUTED[space]()] if space in COMPUTED else []
    entries = []
    for file in files_for(space):
        entry = {"name": file.name, "what": file.what}
        if not (folder / file.name).exists():
            entry.update(status="missing", message=f"{file.name} not in {folder}")
        else:
            try:
                part = file.load(folder)
            except DataError as error:
                if strict:
                    raise
                entry.update(status="error", message=str(error))
            else:
                parts.append(part)
                entry.update(status="found", rows=part.num_rows)
        entries.append(entry)
    return parts, entries


def load_table(
    space: str = "nb201",
    data: str | os.PathLike | None = None,
    *,
    require: Sequence[str] = (),
) -> Table:
    """The benchmark table of ``space`` from every file of the data folder. Host-side.

    Args:
        space: search-space name (``"nb201"``, ...).
        data: the data folder; default ``$NASJAX_DATA``.
        require: columns that must be present.

    Raises:
        DataError: no data folder, a corrupt or mismatched file, or a required column
            whose file is missing (the message names the missing files).
    """
    known = {f.space for f in FILES} | set(COMPUTED)
    if space not in known:
        raise DataError(
            f"no benchmark data for space {space!r}; choose from {sorted(known)}"
        )
    folder = data_dir(data)
    parts, entries = _load_parts(space, folder, strict=True)
    missing = [e["name"] for e in entries if e["status"] == "missing"]
    if not parts:
        raise DataError(f"no {space} data in {str(folder)!r}: missing {missing}")
    table = functools.reduce(Table.merge, parts)
    absent = [c for c in require if c not in table.columns]
    if absent:
        raise DataError(
            f"the {space} table lacks {absent}"
            + (f" (missing files in {str(folder)!r}: {missing})" if missing else "")
        )
    return table


def search_columns(space: str, dataset: str) -> tuple[str, str]:
    """``(objective, report)`` columns for searching ``space`` on ``dataset``.

    ``cifar10-valid`` is accepted for ``cifar10``: the search uses the cifar10-valid
    validation accuracy and reports the cifar10 test accuracy, as the papers do.
    """
    choices = SEARCH_COLUMNS.get(space, {})
    dataset = "cifar10" if dataset == "cifar10-valid" else dataset
    if dataset not in choices:
        raise ValueError(
            f"unknown dataset {dataset!r} for {space}; choose from {sorted(choices)}"
        )
    return choices[dataset]


def check(data: str | os.PathLike | None = None) -> dict:
    """What the data folder holds, per space: files, rows, coverage. Host-side.

    Returns a JSON-ready dict ``{"data_dir", "spaces": {space: {"files": [...],
    "rows", "columns": {name: {"count", "min", "max"}}}}}``; a file's ``status`` is
    ``found``, ``missing`` or ``error`` (with the message).
    """
    folder = data_dir(data)
    report = {"data_dir": str(folder.resolve()), "spaces": {}}
    for space in sorted({f.space for f in FILES} | set(COMPUTED)):
        parts, entries = _load_parts(space, folder, strict=False)
        summary = {"files": entries, "rows": 0, "columns": {}}
        if parts:
            table = functools.reduce(Table.merge, parts)
            summary["rows"] = table.num_rows
            for name in table.column_names:
                values = np.asarray(table.values(name), dtype=np.float64)
                known = values[~np.isnan(values)]
                summary["columns"][name] = {
                    "count": int(known.size),
                    "min": float(known.min()) if known.size else None,
                    "max": float(known.max()) if known.size else None,
                }
        report["spaces"][space] = summary
    return report


def device_column(
    table: Table, dataset: str, device: str, metric: str = "latency"
) -> str:
    """The column of ``device``'s ``metric`` to use with ``dataset``.

    Prefers the dataset's own HW-NAS-Bench column (``cifar100/edgegpu_latency``, with
    the full HW-NAS-Bench pickle), then the CIFAR-10 one that the project's data folder
    has for every NAS-Bench-201 device, then a HELP / LatBench device of that name.

    Raises:
        ValueError: no such column; the message lists the devices the table has.
    """
    dataset = "cifar10" if dataset == "cifar10-valid" else dataset
    candidates = (
        f"{dataset}/{device}_{metric}",
        f"cifar10/{device}_{metric}",
        f"help/{device}",
        f"latbench/{device}_{metric}",
    )
    for name in candidates:
        if name in table.columns:
            return name
    suffix = f"_{metric}"
    devices = sorted(
        {
            c.split("/", 1)[1].removesuffix(suffix)
            for c in table.columns
            if c.endswith(suffix)
        }
        | {c.split("/", 1)[1] for c in table.columns if c.startswith("help/")}
    )
    raise ValueError(f"unknown device {device!r} for {metric}; choose from {devices}")
