"""Genotypes for the re-training tests, written out as Genotype documents."""

from __future__ import annotations

from factorspace.genotype import Genotype

PARAMETERIZED = {"sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"}


def darts_cell(pairs: list[tuple[str, int]], concat=(2, 3, 4, 5)) -> dict:
    """DARTS's (op, source) pairs -> a cell: pair k feeds node 2 + k // 2, ReLU on convolutions."""
    return {
        "edges": [
            {
                "source": source,
                "target": 2 + k // 2,
                "op": op,
                "inputs": {"activation": "relu"} if op in PARAMETERIZED else {},
            }
            for k, (op, source) in enumerate(pairs)
        ],
        "concat": list(concat),
    }


# fmt: off
DARTS_V2 = Genotype.model_validate({
    "name": "DARTS_V2",
    "normal": darts_cell([
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),
    ]),
    "reduce": darts_cell([
        ("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
        ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1),
    ]),
})

# Every factor kind where the genotype puts it: activations per edge, two input factors in order,
# an argument, a node with three edges, strided skip (FactorizedReduce) and pooling in reduction.
MIXED = Genotype.model_validate({
    "name": "mixed",
    "normal": {"edges": [
        {"source": 0, "target": 2, "op": "sep_conv_3x3", "inputs": {"activation": "selu"}},
        {"source": 1, "target": 2, "op": "sep_conv", "inputs": {"activation": "prelu"},
         "arguments": {"kernel_size": 5}},
        {"source": 0, "target": 3, "op": "skip_connect"},
        {"source": 2, "target": 3, "op": "dil_conv_3x3", "inputs": {"activation": "swish"}},
        {"source": 1, "target": 3, "op": "conv", "arguments": {"kernel_size": 1},
         "inputs": {"activation": "leaky_relu", "gate": "relu6"}},
    ], "concat": [2, 3]},
    "reduce": {"edges": [
        {"source": 0, "target": 2, "op": "max_pool_3x3"},
        {"source": 1, "target": 2, "op": "sep_conv_3x3", "inputs": {"activation": "elu"}},
        {"source": 0, "target": 3, "op": "skip_connect"},
        {"source": 2, "target": 3, "op": "avg_pool_3x3"},
    ], "concat": [2, 3]},
})
# fmt: on

TINY = {"channels": 4, "cells": 3}  # normal, reduce, reduce: a forward costs milliseconds
