"""Graph generators: AG-Net's decoder-only generator and a VAE, with their surrogate.

:func:`graph_format` gives a space's graph form (node types + target-major edges, built
by the space's adapter in :mod:`nasjax.encodings`); :class:`GeneratorConfig` fixes a
generator; the functions over explicit parameters (:func:`init_params`, :func:`decode`,
:func:`generate`, :func:`predict`, :func:`encode`, the losses, :func:`pretrain`) are
jittable and vmap over seeds. The search strategies built on them are
:func:`nasjax.search.agnet` and :func:`nasjax.search.agnet_hw`.
"""

from nasjax.encodings import GraphFormat, graph_format
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
)

__all__ = [
    "DECODERS",
    "Generator",
    "GeneratorConfig",
    "GraphFormat",
    "MODES",
    "adam",
    "decode",
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
]
