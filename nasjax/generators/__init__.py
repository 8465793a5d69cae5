"""Graph generators: AG-Net's decoder-only generator and a VAE, with their surrogate.

:func:`graph_format` gives a space's graph form (node types + target-major edges);
:class:`GeneratorConfig` fixes a generator; the functions over explicit parameters
(:func:`init_params`, :func:`decode`, :func:`generate`, :func:`predict`, :func:`encode`,
the losses, :func:`pretrain`) are jittable and vmap over seeds. The search strategies
built on them are :func:`nasjax.search.agnet` and :func:`nasjax.search.agnet_hw`.
"""

from nasjax.generators._decoders import (
    Encoder,
    OneShotDecoder,
    SequentialDecoder,
    Surrogate,
)
from nasjax.generators._graphs import (
    INPUT,
    NB101_TYPES,
    NB201_TYPES,
    OUTPUT,
    GraphFormat,
    edge_pairs,
    graph_format,
    to_adjacency,
)
from nasjax.generators.generator import (
    DECODERS,
    MODES,
    Generator,
    GeneratorConfig,
    adam,
    decode,
    encode,
    generate,
    generator_loss,
    init_params,
    kl_divergence,
    predict,
    pretrain,
    prior,
    reconstruction_loss,
    sample_graphs,
)

__all__ = [
    "DECODERS",
    "Encoder",
    "Generator",
    "GeneratorConfig",
    "GraphFormat",
    "INPUT",
    "MODES",
    "NB101_TYPES",
    "NB201_TYPES",
    "OUTPUT",
    "OneShotDecoder",
    "SequentialDecoder",
    "Surrogate",
    "adam",
    "decode",
    "edge_pairs",
    "encode",
    "generate",
    "generator_loss",
    "graph_format",
    "init_params",
    "kl_divergence",
    "predict",
    "pretrain",
    "prior",
    "reconstruction_loss",
    "sample_graphs",
    "to_adjacency",
]
