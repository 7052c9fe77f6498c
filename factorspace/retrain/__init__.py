"""Re-training: DARTS's evaluation networks from a genotype, their training, size and export.

from factorspace.retrain import create_model, model_info, train

model = create_model(genotype, "cifar10")  # 36 channels, 20 cells, auxiliary head
model_info(genotype, "imagenet")  # {"parameters": ..., "macs": ..., ...}
result = train("darts_v2", "recipes/train_cifar.yaml", out="runs/darts_v2")

``factorspace.retrain.train`` is the function; the module is ``factorspace.retrain.train`` only
to ``from factorspace.retrain.train import ...``.
"""

from factorspace.retrain.export import (
    export_onnx,
    export_program,
    export_source,
    export_torchscript,
)
from factorspace.retrain.info import count_macs, model_info
from factorspace.retrain.network import (
    Cell,
    Edge,
    NetworkCIFAR,
    NetworkImageNet,
    build_network,
    create_model,
)
from factorspace.retrain.train import (
    Trained,
    TrainResult,
    evaluate,
    evaluate_checkpoint,
    load_train_recipe,
    load_trained,
    train,
)

__all__ = [
    "Cell",
    "Edge",
    "NetworkCIFAR",
    "NetworkImageNet",
    "TrainResult",
    "Trained",
    "build_network",
    "count_macs",
    "create_model",
    "evaluate",
    "evaluate_checkpoint",
    "export_onnx",
    "export_program",
    "export_source",
    "export_torchscript",
    "load_train_recipe",
    "load_trained",
    "model_info",
    "train",
]
