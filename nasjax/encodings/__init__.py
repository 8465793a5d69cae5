"""Architectures as fixed-shape, masked ``jraph.GraphsTuple`` graphs.

One module per space (``nb201``, ``nb101``, ``fbnet``) encodes a single architecture;
``vmap`` then :func:`merge_batch` builds a batch inside ``jit``.
"""

from nasjax.encodings import fbnet, nb101, nb201
from nasjax.encodings._graph import (
    CELL,
    FROM_GLOBAL,
    TO_GLOBAL,
    aggregate,
    dag_graph,
    graph_ids,
    masked_mean_pool,
    merge_batch,
)

__all__ = [
    "CELL",
    "FROM_GLOBAL",
    "TO_GLOBAL",
    "aggregate",
    "dag_graph",
    "graph_ids",
    "masked_mean_pool",
    "merge_batch",
    "fbnet",
    "nb101",
    "nb201",
]
