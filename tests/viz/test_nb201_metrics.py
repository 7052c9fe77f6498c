"""An NB201 search's metrics plot adds the looked-up accuracy of each epoch's cell."""

from __future__ import annotations

from factorspace.viz.figures import metrics_figure


def rows(lookup: bool) -> list[dict]:
    base = [
        {"epoch": e, "train_loss": 2.0, "val_loss": 2.1, "train_acc": 0.2, "val_acc": 0.2,
         "entropy_op": 0.9}
        for e in (1, 2)
    ]  # fmt: skip
    if lookup:
        for row, acc in zip(base, (54.3, 93.76), strict=True):
            row |= {"nb201_cifar10": acc, "nb201_cifar100": acc - 20, "nb201_imagenet16_120": 30.0}
    return base


def test_the_lookup_gets_its_own_panel_with_the_three_data_sets():
    fig = metrics_figure(rows(lookup=True))
    assert len(fig.axes) == 4
    panel = fig.axes[-1]
    assert [t.get_text() for t in panel.get_legend().get_texts()] == [
        "CIFAR-10", "CIFAR-100", "ImageNet16-120"
    ]  # fmt: skip
    assert list(panel.lines[0].get_ydata()) == [54.3, 93.76]


def test_other_searches_keep_three_panels():
    assert len(metrics_figure(rows(lookup=False)).axes) == 3
