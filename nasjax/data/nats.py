"""Importers for the official NAS-Bench-201 / NATS-Bench topology-space files.

Three on-disk forms hold the same per-architecture records (read from D-X-Y's
``nats_bench/api_topology.py``, ``nats_bench/api_utils.py``,
``nas_201_api/api_201.py`` and AutoDL-Projects' ``exps/NATS-Bench/tss-collect.py``):

* ``NATS-tss-v1_0-3ffb9-simple/`` (NATS-Bench "fast mode" folder): ``meta.pickle.pbz2``
  is a bz2-compressed pickle of ``{"meta_archs": [15625 arch strings], "total_archs",
  "arch2infos": None, "evaluated_indexes": set()}``, and one ``{index:06d}.pickle.pbz2``
  (the API falls back to ``{index}.pickle.pbz2``) per architecture holding
  ``OrderedDict({"12": state, "200": state})``.
* ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: one bz2 pickle ``{"meta_archs", "total_archs",
  "arch2infos": {index: {"12": state, "200": state}}, "evaluated_indexes"}``.
* ``NAS-Bench-201-v1_0-e61699.pth`` / ``v1_1-096897.pth``: a ``torch.save`` of
  ``{"meta_archs", "arch2infos": {index: {"less": state, "full": state}},
  "evaluated_indexes"}``; ``"less"`` is ``hp="12"`` and ``"full"`` is ``hp="200"``.

Each ``state`` is ``ArchResults.state_dict()``: a plain dict ``{"arch_index",
"arch_str", "all_results": {(dataset, seed): ResultsCount.__dict__}, "dataset_seed":
{dataset: [seeds]}, "clear_net_done"}``. A ``ResultsCount`` dict has ``epochs``,
``eval_acc1es`` (``{"x-valid@199": acc, ...}``, accuracy in %), ``params`` (M),
``flop`` (M), ``latency`` (list of seconds or None) and training logs. The pickles
thus hold only builtins, ``collections.OrderedDict`` and possibly numpy scalars: no
``nats_bench`` class is pickled, so the ``nats_bench`` package is not needed. They
are read with a restricted unpickler that refuses any other global (so a foreign or
malicious file raises :class:`DataError` instead of running code).

Columns (seed means at the last epoch ``epochs - 1``, as ``get_more_info(...,
is_random=False)``; accuracy in %):

====================================  =======================================
column                                source ``(dataset, eval key)``
====================================  =======================================
``cifar10-valid/valid_acc``           ``("cifar10-valid", "x-valid@E")``
``cifar10/test_acc``                  ``("cifar10", "ori-test@E")``
``cifar100/valid_acc``                ``("cifar100", "x-valid@E")``
``cifar100/test_acc``                 ``("cifar100", "x-test@E")``
``ImageNet16-120/valid_acc``          ``("ImageNet16-120", "x-valid@E")``
``ImageNet16-120/test_acc``           ``("ImageNet16-120", "x-test@E")``
``{dataset}/benchmark_params``        mean ``params`` (M)
``{dataset}/benchmark_flops``         mean ``flop`` (M)
``{dataset}/benchmark_latency``       mean positive ``latency`` (s -> **ms**)
====================================  =======================================

With ``hp`` other than ``"200"`` the accuracy columns get the suffix ``_{hp}ep``
(``cifar100/valid_acc_12ep``), as :func:`nasjax.data.nb201.load_low_fidelity`.
A seed lacking an eval key is left out of the mean; a column with no value at all
is dropped. All functions here are host-side.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import pathlib
from collections.abc import Mapping

import numpy as np

from nasjax.data._files import DataError, load_pickle
from nasjax.data.nb201 import benchmark_strings
from nasjax.data.table import Table
from nasjax.spaces.nb201 import NUM_ARCHS, NB201Space

SIMPLE_DIR = "NATS-tss-v1_0-3ffb9-simple"
ARCHIVE_FILE = "NATS-tss-v1_0-3ffb9.pickle.pbz2"
NB201_PTH_FILES = ("NAS-Bench-201-v1_1-096897.pth", "NAS-Bench-201-v1_0-e61699.pth")
PICKLE_EXT = ".pickle.pbz2"
META_FILE = "meta" + PICKLE_EXT

ACCURACY_KEYS: dict[str, tuple[str, str]] = {
    "cifar10-valid/valid_acc": ("cifar10-valid", "x-valid"),
    "cifar10/test_acc": ("cifar10", "ori-test"),
    "cifar100/valid_acc": ("cifar100", "x-valid"),
    "cifar100/test_acc": ("cifar100", "x-test"),
    "ImageNet16-120/valid_acc": ("ImageNet16-120", "x-valid"),
    "ImageNet16-120/test_acc": ("ImageNet16-120", "x-test"),
}
COST_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
_NB201_HP_KEYS = {"12": "less", "200": "full"}


# ------------------------------------------------------------------ dict walking
def _check_meta_archs(meta_archs, source: str) -> tuple[str, ...]:
    if not isinstance(meta_archs, (list, tuple)) or len(meta_archs) != NUM_ARCHS:
        size = len(meta_archs) if isinstance(meta_archs, (list, tuple)) else None
        raise DataError(
            f"{source}: meta_archs must list {NUM_ARCHS} arch strings, got "
            f"{type(meta_archs).__name__} of length {size}"
        )
    expected = benchmark_strings()
    for index, (got, want) in enumerate(zip(meta_archs, expected)):
        if got != want:
            raise DataError(
                f"{source}: meta_archs[{index}] is {got!r}, expected {want!r} "
                "(not NAS-Bench-201 / NATS-Bench-TSS arch_idx order)"
            )
    return tuple(meta_archs)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _arch_values(state, index: int, arch_str: str, suffix: str) -> dict[str, float]:
    """Column values of one architecture from an ``ArchResults`` state dict."""
    if state.get("arch_str", arch_str) != arch_str:
        raise ValueError(
            f"arch_str {state['arch_str']!r} differs from meta {arch_str!r}"
        )
    if int(state.get("arch_index", index)) != index:
        raise ValueError(f"arch_index {state['arch_index']} differs from {index}")
    all_results, dataset_seed = state["all_results"], state["dataset_seed"]
    runs = {
        dataset: [all_results[(dataset, seed)] for seed in seeds]
        for dataset, seeds in dataset_seed.items()
    }
    values = {}
    for column, (dataset, eval_set) in ACCURACY_KEYS.items():
        accs = []
        for run in runs.get(dataset, []):
            key = f"{eval_set}@{int(run['epochs']) - 1}"
            if key in run["eval_acc1es"]:
                accs.append(float(run["eval_acc1es"][key]))
        values[column + suffix] = _mean(accs)
    for dataset in COST_DATASETS:
        dataset_runs = runs.get(dataset, [])
        params = [
            float(r["params"]) for r in dataset_runs if r.get("params") is not None
        ]
        flops = [float(r["flop"]) for r in dataset_runs if r.get("flop") is not None]
        latencies = []
        for run in dataset_runs:
            latency = run.get("latency")
            if latency:  # list of seconds; None or [] = not measured
                mean = sum(float(x) for x in latency) / len(latency)
                if mean > 0:
                    latencies.append(mean * 1000.0)
        values[f"{dataset}/benchmark_params"] = _mean(params)
        values[f"{dataset}/benchmark_flops"] = _mean(flops)
        values[f"{dataset}/benchmark_latency"] = _mean(latencies)
    return values


def _hp_key(hp: str) -> tuple[str, str]:
    hp = str(hp)
    return hp, ("" if hp == "200" else f"_{hp}ep")


def _values_of(
    per_hp, hp_key: str, index: int, arch_str: str, suffix: str, source: str
) -> dict[str, float]:
    if not isinstance(per_hp, Mapping):
        raise DataError(
            f"{source}: arch {index} is a {type(per_hp).__name__}, expected a dict "
            "{hp: ArchResults state dict}"
        )
    if hp_key not in per_hp:
        raise DataError(
            f"{source}: arch {index} has no results for hp {hp_key!r}; available: "
            f"{sorted(map(str, per_hp))}"
        )
    try:
        return _arch_values(per_hp[hp_key], index, arch_str, suffix)
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise DataError(
            f"{source}: arch {index} is not an ArchResults state dict as NATS-Bench "
            f"writes it ({type(error).__name__}: {error})"
        ) from None


def _table(
    indices: list[int], rows: list[dict[str, float]], meta_archs: tuple[str, ...]
) -> Table:
    space = NB201Space()
    archs = np.stack([space.from_string(meta_archs[i]) for i in indices]).astype(
        np.int32
    )
    names = sorted({name for row in rows for name in row})
    columns = {}
    for name in names:
        values = np.asarray([row.get(name, math.nan) for row in rows], dtype=np.float64)
        if not np.all(np.isnan(values)):
            columns[name] = values
    return Table.from_rows(space, archs.reshape(-1, 6), columns)


def _from_arch2infos(
    data, hp: str, source: str, *, hp_names: Mapping[str, str] | None = None
) -> Table:
    if (
        not isinstance(data, Mapping)
        or "meta_archs" not in data
        or "arch2infos" not in data
    ):
        raise DataError(
            f"{source}: expected a dict with 'meta_archs' and 'arch2infos', got "
            f"{type(data).__name__}"
            + (
                f" with keys {sorted(map(str, data))}"
                if isinstance(data, Mapping)
                else ""
            )
        )
    meta_archs = _check_meta_archs(data["meta_archs"], source)
    arch2infos = data["arch2infos"]
    if not isinstance(arch2infos, Mapping):
        raise DataError(
            f"{source}: 'arch2infos' is {type(arch2infos).__name__}, not a dict"
        )
    hp, suffix = _hp_key(hp)
    key = hp_names.get(hp, hp) if hp_names else hp
    indices, rows = [], []
    for index in sorted(arch2infos):
        if not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
            raise DataError(f"{source}: arch2infos key {index!r} is not an arch index")
        indices.append(index)
        rows.append(
            _values_of(arch2infos[index], key, index, meta_archs[index], suffix, source)
        )
    return _table(indices, rows, meta_archs)


# ---------------------------------------------------------------------- loaders
def load_nats_simple(path: pathlib.Path, *, hp: str = "200") -> Table:
    """Reads a NATS-Bench topology "simple" folder (``NATS-tss-v1_0-3ffb9-simple``).

    Rows are the architectures that have a ``{index}.pickle.pbz2`` file, placed by
    the arch string of ``meta.pickle.pbz2``. Host-side; the full folder (15,625
    files) takes minutes.

    Args:
        path: the folder.
        hp: training schedule, ``"200"`` (default) or ``"12"`` epochs.

    Raises:
        DataError: the folder, meta file or an arch file is missing, corrupt, or not
            in NATS-Bench-TSS order (the message names the file).
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise DataError(f"{str(path)!r} is not a folder (expected {SIMPLE_DIR}/)")
    meta_path = path / META_FILE
    meta = load_pickle(meta_path, compressed=True)
    if not isinstance(meta, Mapping) or "meta_archs" not in meta:
        raise DataError(f"{str(meta_path)!r}: expected a dict with 'meta_archs'")
    meta_archs = _check_meta_archs(meta["meta_archs"], repr(str(meta_path)))
    files: dict[int, pathlib.Path] = {}
    for file in sorted(path.glob("*" + PICKLE_EXT)):
        if file.name == META_FILE:
            continue
        stem = file.name[: -len(PICKLE_EXT)]
        if not stem.isdigit() or not 0 <= int(stem) < NUM_ARCHS:
            raise DataError(f"{str(file)!r}: not an arch file ({{index}}{PICKLE_EXT})")
        if int(stem) in files:
            raise DataError(
                f"{str(file)!r}: arch {int(stem)} has two files in {str(path)!r}"
            )
        files[int(stem)] = file
    if not files:
        raise DataError(f"{str(path)!r} holds no {{index}}{PICKLE_EXT} arch files")
    hp, suffix = _hp_key(hp)

    def read(item: tuple[int, pathlib.Path]) -> dict[str, float]:
        index, file = item
        per_hp = load_pickle(file, compressed=True)
        return _values_of(per_hp, hp, index, meta_archs[index], suffix, repr(str(file)))

    items = sorted(files.items())
    # bz2 decompression releases the GIL: threads overlap the 15,625 files.
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        rows = list(pool.map(read, items))
    return _table([index for index, _ in items], rows, meta_archs)


def load_nats_archive(path: pathlib.Path, *, hp: str = "200") -> Table:
    """Reads the NATS-Bench topology file (``NATS-tss-v1_0-3ffb9.pickle.pbz2``).

    Args:
        path: the file.
        hp: training schedule, ``"200"`` (default) or ``"12"`` epochs.

    Raises:
        DataError: missing, corrupt or not NATS-Bench-TSS data (names the file).
    """
    data = load_pickle(path, compressed=True)
    return _from_arch2infos(data, hp, repr(str(path)))


def load_nb201_pth(
    path: pathlib.Path, *, hp: str = "200", weights_only: bool = True
) -> Table:
    """Reads a NAS-Bench-201 file (``NAS-Bench-201-v1_{0,1}-*.pth``); needs torch.

    Args:
        path: the file.
        hp: ``"200"`` (the file's ``"full"`` results, default) or ``"12"`` (``"less"``;
            v1_0 has cifar10-valid only).
        weights_only: load with torch's restricted unpickler. ``False`` runs torch's
            full unpickler, which can execute code: use it only for a trusted file
            that the restricted one refuses.

    Raises:
        DataError: torch is not installed, or the file is missing, corrupt or not
            NAS-Bench-201 data (names the file).
    """
    path = pathlib.Path(path)
    try:
        import torch
    except ImportError:
        raise DataError(
            f"reading {str(path)!r} (a NAS-Bench-201 .pth file) needs torch: "
            "pip install 'nasjax[torch]'; or use the NATS-Bench "
            f"{SIMPLE_DIR}/ folder, which nasjax reads without torch"
        ) from None
    if not path.is_file():
        raise DataError(f"missing data file {str(path)!r}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=weights_only)
    except Exception as error:  # noqa: BLE001 (torch.load raises many types)
        hint = (
            "; if you trust the file, pass weights_only=False" if weights_only else ""
        )
        raise DataError(
            f"cannot read {str(path)!r} with torch.load ({type(error).__name__}: "
            f"{error}){hint}"
        ) from None
    return _from_arch2infos(data, hp, repr(str(path)), hp_names=_NB201_HP_KEYS)


# -------------------------------------------------- loaders on the data folder
def load_simple_in(folder: pathlib.Path) -> Table:
    """:func:`load_nats_simple` of ``folder / SIMPLE_DIR`` (for the registry)."""
    return load_nats_simple(pathlib.Path(folder) / SIMPLE_DIR)


def load_archive_in(folder: pathlib.Path) -> Table:
    """:func:`load_nats_archive` of ``folder / ARCHIVE_FILE`` (for the registry)."""
    return load_nats_archive(pathlib.Path(folder) / ARCHIVE_FILE)


def load_nb201_pth_in(folder: pathlib.Path) -> Table:
    """:func:`load_nb201_pth` of the newest ``NAS-Bench-201-*.pth`` in ``folder``."""
    folder = pathlib.Path(folder)
    for name in NB201_PTH_FILES:
        if (folder / name).is_file():
            return load_nb201_pth(folder / name)
    raise DataError(f"none of {list(NB201_PTH_FILES)} in {str(folder)!r}")
