"""Architectures as fixed-shape, masked ``jraph.GraphsTuple`` graphs, and every other
form a search space's architectures take.

One module per space (``nb201``, ``nb101``, ``fbnet``) encodes a single architecture
and registers the space's :class:`Adapter` (its forms: the GCN's graphs, the AG-Net
generator's :class:`GraphFormat`, the path encoding, ...); :func:`adapter` finds it by
the space's name. ``vmap`` then :func:`merge_batch` builds a batch inside ``jit``, and
:func:`dense_inputs` turns a batch into the GCN's dense pair.
"""

from nasjax.encodings import fbnet, nb101, nb201, path
from nasjax.encodings._adapter import (
    ADAPTERS,
    Adapter,
    adapter,
    find,
    graph_format,
    register,
)
from nasjax.encodings._graph import (
    CELL,
    FROM_GLOBAL,
    TO_GLOBAL,
    aggregate,
    dag_graph,
    dense_inputs,
    graph_ids,
    masked_mean_pool,
    merge_batch,
)
from nasjax.encodings._typed import GraphFormat

__all__ = [
    "ADAPTERS",
    "Adapter",
    "CELL",
    "FROM_GLOBAL",
    "GraphFormat",
    "TO_GLOBAL",
    "adapter",
    "aggregate",
    "dag_graph",
    "dense_inputs",
    "fbnet",
    "find",
    "graph_format",
    "graph_ids",
    "masked_mean_pool",
    "merge_batch",
    "nb101",
    "nb201",
    "path",
    "register",
]
