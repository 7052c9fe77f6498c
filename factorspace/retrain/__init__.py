"""Re-training: DARTS's evaluation networks from a genotype, their size, and their export.

from factorspace.retrain import create_model, model_info

model = create_model(genotype, "cifar10")  # 36 channels, 20 cells, auxiliary head
model_info(genotype, "imagenet")  # {"parameters": ..., "macs": ..., ...}
"""

from factorspace.retrain.export import export_source, export_torchscript
from factorspace.retrain.info import count_macs, model_info
from factorspace.retrain.network import (
    Cell,
    Edge,
    NetworkCIFAR,
    NetworkImageNet,
    build_network,
    create_model,
)

__all__ = [
    "Cell",
    "Edge",
    "NetworkCIFAR",
    "NetworkImageNet",
    "build_network",
    "count_macs",
    "create_model",
    "export_source",
    "export_torchscript",
    "model_info",
]
