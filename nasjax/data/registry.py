"""Which files feed which table, loading them, and checking the data folder.

A table is built from three layers: the columns nasjax computes or measured itself
(:data:`COMPUTED`), the data folder's files when a folder is given (``data=`` or
``$NASJAX_DATA``), and the tables shipped inside the package
(:mod:`nasjax.data.embedded`) for every column the folder does not provide. With no
folder, NAS-Bench-201 and FBNet load from the package alone.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable, Sequence

import numpy as np

from nasjax.data import (
    embedded,
    fbnet,
    hwnasbench,
    latbench,
    measured,
    nats,
    nb101,
    nb201,
)
from nasjax.data._files import DATA_ENV, DataError, data_dir
from nasjax.data._validate import load_checked
from nasjax.data.table import Table

LATBENCH_DIR = "latbench"  # the folder of LatBench device pickles in the data folder


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of the data folder and how to read it into a :class:`Table`."""

    name: str
    space: str
    what: str
    load: Callable[[pathlib.Path], Table]
    adds: str = ""  # an official download: what it adds to the embedded tables


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
        "edgegpu/edgetpu latency and energies of all 15,625 archs, and every device's "
        "CIFAR-100 and ImageNet16-120 latency and energy",
    ),
    DataFile(
        nats.SIMPLE_DIR,
        "nb201",
        "NATS-Bench TSS simple folder",
        nats.load_simple_in,
        "the official NATS-Bench accuracies (replacing the embedded ones)",
    ),
    DataFile(
        nats.ARCHIVE_FILE,
        "nb201",
        "NATS-Bench TSS archive",
        nats.load_archive_in,
        "the official NATS-Bench accuracies (replacing the embedded ones)",
    ),
    *(
        DataFile(
            name,
            "nb201",
            "NAS-Bench-201 .pth (needs torch)",
            nats.load_nb201_pth_in,
            "the NAS-Bench-201 accuracies of that version (replacing the embedded "
            "ones)",
        )
        for name in nats.NB201_PTH_FILES
    ),
    DataFile(
        LATBENCH_DIR,
        "nb201",
        "LatBench device pickles (BRP-NAS)",
        lambda folder: latbench.load_latbench_in(folder / LATBENCH_DIR),
        "BRP-NAS's LatBench latencies (latbench/{device}_latency)",
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
        "nothing new for FBNet (the embedded lookup table is its FBNet part)",
    ),
    # NAS-Bench-101 (official download).
    DataFile(
        nb101.TFRECORD_FILE,
        "nb101",
        "108-epoch accuracy, train time, params",
        nb101.load_nb101,
        "the whole NAS-Bench-101 table (nasjax ships none)",
    ),
)

# Columns nasjax computes or measured itself, present with or without a data folder
# (stored in the shipped tables, see nasjax.data.embedded, for a fast load).
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


def folder_or_none(data: str | os.PathLike | None = None) -> pathlib.Path | None:
    """The data folder: ``data``, else ``$NASJAX_DATA``, else None (no folder).

    Raises:
        DataError: the folder given does not exist.
    """
    if data is None and not os.environ.get(DATA_ENV):
        return None
    return data_dir(data)


def _load_parts(space: str, folder: pathlib.Path | None, *, strict: bool):
    """Tables of every present file of ``space`` and a status entry per file."""
    parts, entries = [], []
    for file in files_for(space):
        entry = {"name": file.name, "what": file.what}
        if file.adds:
            entry["adds"] = file.adds
        if folder is None:
            entry.update(status="missing", message="no data folder")
        elif not (folder / file.name).exists():
            entry.update(status="missing", message=f"{file.name} not in {folder}")
        else:
            try:
                part = load_checked(file, folder)
            except DataError as error:
                if strict:
                    raise
                entry.update(status="error", message=str(error))
            else:
                parts.append(part)
                entry.update(
                    status="found", rows=part.num_rows, columns=sorted(part.columns)
                )
        entries.append(entry)
    return parts, entries


def _without(table: Table, names) -> Table:
    """``table`` less the columns ``names``."""
    names = set(names)
    kept = {n: c for n, c in table.columns.items() if n not in names}
    return dataclasses.replace(table, columns=kept)


def _combine(space: str, folder_parts: list[Table]) -> tuple[list[Table], dict]:
    """The tables to merge into ``space``'s table, in order, and each column's source.

    With a shipped table: the shipped table less the columns the folder provides
    (apart from those nasjax computes, which stay), then the folder's tables. Without
    one: the computed columns, then the folder's. Returns ``(tables, sources)`` with
    ``sources`` mapping each column to ``"computed"``, ``"folder"`` or ``"embedded"``.
    """
    tables, sources = [], {}
    if embedded.has_embedded(space):
        shipped = embedded.load(space)
        computed = {
            n for n, s in shipped.sources.items() if s == embedded.COMPUTED_SOURCE
        }
        replaced = {n for part in folder_parts for n in part.columns} - computed
        kept = _without(shipped.table, replaced) if replaced else shipped.table
        tables.append(kept)
        sources.update(
            {n: "computed" if n in computed else "embedded" for n in kept.columns}
        )
    elif space in COMPUTED:
        tables.append(COMPUTED[space]())
        sources.update(dict.fromkeys(tables[0].columns, "computed"))
    for part in folder_parts:
        tables.append(part)
        for name in part.columns:
            sources.setdefault(name, "folder")
    return tables, sources


def load_table(
    space: str = "nb201",
    data: str | os.PathLike | None = None,
    *,
    require: Sequence[str] = (),
) -> Table:
    """The benchmark table of ``space``. Host-side.

    The columns nasjax computes, then the data folder's files (when a folder is
    given), then the tables shipped in the package for the columns the folder lacks:
    NAS-Bench-201 and FBNet need no folder; a folder's files add columns or replace
    the shipped ones.

    Args:
        space: search-space name (``"nb201"``, ...).
        data: the data folder; default ``$NASJAX_DATA``; neither: the shipped tables.
        require: columns that must be present.

    Raises:
        DataError: a folder that does not exist, a corrupt or mismatched file, no data
            for ``space`` (NAS-Bench-101 needs its official download), or a required
            column that is missing (the message names the missing files).
    """
    known = {f.space for f in FILES} | set(COMPUTED)
    if space not in known:
        raise DataError(
            f"no benchmark data for space {space!r}; choose from {sorted(known)}"
        )
    folder = folder_or_none(data)
    folder_parts, entries = _load_parts(space, folder, strict=True)
    tables, _ = _combine(space, folder_parts)
    missing = [e["name"] for e in entries if e["status"] == "missing"]
    if not tables:
        where = (
            f"no data folder (pass --data DIR or set {DATA_ENV}=DIR)"
            if folder is None
            else f"missing in {str(folder)!r}"
        )
        raise DataError(f"no {space} data: nasjax ships none and {where}: {missing}")
    table = functools.reduce(Table.merge, tables)
    absent = [c for c in require if c not in table.columns]
    if absent:
        where = "no data folder" if folder is None else f"{str(folder)!r}"
        raise DataError(
            f"the {space} table lacks {absent}"
            + (f" (missing files, {where}: {missing})" if missing else "")
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
    """Where each table's columns come from, their rows and coverage. Host-side.

    Returns a JSON-ready dict ``{"data_dir" (None without a folder), "spaces":
    {space: {"embedded", "files": [...], "rows", "columns": {name: {"count", "min",
    "max", "source"}}}}}``. ``embedded`` is ``{"file", "bytes", "sources": {file:
    [columns]}}`` (None where nasjax ships no table); a file's ``status`` is
    ``found``, ``missing`` or ``error`` (with the message), and an official download
    says what it ``adds``; a column's ``source`` is ``computed``, ``folder`` or
    ``embedded``.
    """
    folder = folder_or_none(data)
    report = {
        "data_dir": None if folder is None else str(folder.resolve()),
        "spaces": {},
    }
    for space in sorted({f.space for f in FILES} | set(COMPUTED)):
        folder_parts, entries = _load_parts(space, folder, strict=False)
        tables, sources = _combine(space, folder_parts)
        shipped = None
        if embedded.has_embedded(space):
            files: dict[str, list[str]] = {}
            for name, file in embedded.load(space).sources.items():
                files.setdefault(file, []).append(name)
            path = embedded.resource_path(space)
            shipped = {
                "file": path.name,
                "bytes": path.stat().st_size,
                "sources": files,
            }
        summary = {"embedded": shipped, "files": entries, "rows": 0, "columns": {}}
        if tables:
            table = functools.reduce(Table.merge, tables)
            summary["rows"] = table.num_rows
            for name in table.column_names:
                values = np.asarray(table.values(name), dtype=np.float64)
                known = values[~np.isnan(values)]
                summary["columns"][name] = {
                    "count": int(known.size),
                    "min": float(known.min()) if known.size else None,
                    "max": float(known.max()) if known.size else None,
                    "source": sources[name],
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
