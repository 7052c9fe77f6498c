"""The projection: decided rows one-hot, removed edges zero, a mask zeroes one choice or one
edge, nothing renormalised (DARTS-PT's get_projected_weights and proj_mask), by hand."""

from __future__ import annotations

import torch

from factorspace.select import Projection

VALUES = torch.tensor([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]])


def test_fixed_removed_and_masked_rows():
    p = Projection(net=None, pruning_group="op")
    p.fixed[("normal", "op", 1)] = 2
    p.removed["normal"] = {2}
    expected = torch.tensor([[0.1, 0.2, 0.7], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(p.project("normal", "op", VALUES), expected)
    with p.masked(("normal", "op", 0, 2)):
        masked = p.project("normal", "op", VALUES)
    torch.testing.assert_close(masked[0], torch.tensor([0.1, 0.2, 0.0]))
    torch.testing.assert_close(masked[1:], expected[1:])
    assert p.mask is None
    # the other cell type and the other groups are untouched
    torch.testing.assert_close(p.project("reduce", "op", VALUES), VALUES)
    torch.testing.assert_close(p.project("normal", "activation", VALUES), VALUES)


def test_an_edge_mask_zeroes_the_pruning_groups_row_only():
    p = Projection(net=None, pruning_group="op")
    with p.masked(("normal", None, 0, None)):
        torch.testing.assert_close(p.project("normal", "op", VALUES)[0], torch.zeros(3))
        torch.testing.assert_close(p.project("normal", "activation", VALUES), VALUES)
    assert not p  # no decision yet
    p.fixed[("reduce", "activation", 0)] = 0
    assert p
