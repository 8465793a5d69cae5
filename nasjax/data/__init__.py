"""Benchmark data: the :class:`Table` pytree, loaders for the data folder, checks.

The data folder comes from ``data=`` (the CLI's ``--data``) or ``$NASJAX_DATA``.
"""

from nasjax.data._files import DATA_ENV, DataError, data_dir
from nasjax.data.registry import (
    COMPUTED,
    FILES,
    SEARCH_COLUMNS,
    DataFile,
    check,
    device_column,
    files_for,
    load_table,
    search_columns,
)
from nasjax.data.table import AdditiveColumn, Table, higher_is_better, within_limit

__all__ = [
    "AdditiveColumn",
    "COMPUTED",
    "DATA_ENV",
    "DataError",
    "DataFile",
    "FILES",
    "SEARCH_COLUMNS",
    "Table",
    "check",
    "data_dir",
    "device_column",
    "files_for",
    "higher_is_better",
    "load_table",
    "search_columns",
    "within_limit",
]
