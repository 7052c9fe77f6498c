"""Evaluating a trained network: accuracies, and a constant prediction said as such."""

from __future__ import annotations

import torch
from torch import nn

from factorspace.retrain.trained import constant_prediction_note, evaluate


class Fixed(nn.Module):
    """Logits that favour class ``label[i]`` for image ``i`` (a batch of labels in, as images)."""

    def __init__(self, constant: bool) -> None:
        super().__init__()
        self.constant = constant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        labels = torch.zeros_like(x, dtype=torch.long) if self.constant else x.long()
        return nn.functional.one_hot(labels, 10).float() + torch.arange(10) / 100


def batches():
    labels = torch.arange(10).repeat(3)  # a balanced test split: 3 images of each class
    return [(labels[:16], labels[:16]), (labels[16:], labels[16:])]


def test_a_constant_prediction_is_a_class_share_and_the_note_says_why():
    result = evaluate(Fixed(constant=True), batches(), torch.device("cpu"))
    assert result["predicted_classes"] == 1
    assert (result["top1"], result["top5"]) == (0.1, 0.5)  # the shares of 1 and 5 classes
    note = constant_prediction_note(result, steps=20)
    assert note.startswith(
        "note: every test image was given the same class, so top-1 is that class's share of "
        "the test images (10.00 %); after 20 steps this is expected: BatchNorm's running "
        "statistics"
    )


def test_no_note_where_the_predictions_differ():
    result = evaluate(Fixed(constant=False), batches(), torch.device("cpu"))
    assert result["predicted_classes"] == 10 and result["top1"] == 1.0
    assert constant_prediction_note(result, steps=20) is None
