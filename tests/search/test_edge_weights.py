"""A-PC-DARTS's edge weights: stepped with the operator factor in one Adam (PC-DARTS's single
architecture optimizer over alphas and betas) or, as an option, as a third group of their own."""

from __future__ import annotations

import pytest
import torch

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.errors import FactorspaceError
from factorspace.search import optim
from factorspace.search.step import check_arch_optimizers
from tests.conftest import ROOT

TINY = ["supernet.channels=8", "supernet.cells=3", "space.cell.nodes=2"]


def apcdarts(*extra: str) -> fs.Recipe:
    return fs.load_recipe(ROOT / "recipes/apcdarts_cifar.yaml", [*TINY, *extra])


def setup(recipe: fs.Recipe):
    torch.manual_seed(0)
    net = compile_supernet(recipe.space, recipe.supernet)
    return net, optim.arch_optimizers(net, recipe.search)


def held(opt) -> set[int]:
    return {id(p) for g in opt.param_groups for p in g["params"]}


def ids(params) -> set[int]:
    return {id(p) for p in params}


def val_batch():
    torch.manual_seed(1)
    return torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))


def test_by_default_the_edge_weights_share_the_operators_adam():
    net, opts = setup(apcdarts())
    groups = net.arch_parameters()
    assert list(opts) == ["op", "activation"]
    assert held(opts["op"]) == ids(groups["op"]) | ids(groups["edge"])
    assert held(opts["activation"]) == ids(groups["activation"])


def test_one_architecture_step_moves_the_operator_and_edge_weights_together():
    net, opts = setup(apcdarts())
    before = {g: [p.detach().clone() for p in ps] for g, ps in net.arch_parameters().items()}
    steps = []
    opts["op"].register_step_post_hook(lambda *_: steps.append("op"))
    optim.arch_steps(net, {"op": opts["op"]}, val_batch(), update="sequential")
    assert steps == ["op"]  # one step, one validation loss, both groups moved by it
    for group in ("op", "edge"):
        for p, old in zip(net.arch_parameters()[group], before[group], strict=True):
            assert not torch.equal(p.detach(), old), group
    for p, old in zip(net.arch_parameters()["activation"], before["activation"], strict=True):
        assert torch.equal(p.detach(), old)


def test_own_group_keeps_three_adams_updated_in_turn():
    recipe = apcdarts("search.edge_weights=own_group", "search.factor_order=[op, activation, edge]")
    net, opts = setup(recipe)
    groups = net.arch_parameters()
    assert list(opts) == ["op", "activation", "edge"]
    for name, opt in opts.items():
        assert held(opt) == ids(groups[name])
    order = []
    for name, opt in opts.items():
        opt.register_step_post_hook(lambda *_, name=name: order.append(name))
    optim.arch_steps(net, opts, val_batch(), update="sequential")
    assert order == ["op", "activation", "edge"]


def test_own_group_takes_edge_settings():
    recipe = apcdarts("search.edge_weights=own_group", "search.arch_overrides.edge.lr=0.01")
    _, opts = setup(recipe)
    assert opts["edge"].param_groups[0]["lr"] == 0.01
    assert opts["op"].param_groups[0]["lr"] == 6e-4


@pytest.mark.parametrize(
    "override, field",
    [
        ("search.factor_order=[op, edge]", "search.factor_order[1]"),
        ("search.arch_overrides.edge.lr=0.01", "search.arch_overrides.edge"),
    ],
)
def test_an_edge_group_setting_under_with_operator_is_refused(override, field):
    with pytest.raises(fs.RecipeError) as info:
        apcdarts(override)
    message = str(info.value)
    assert field in message
    assert "step in the 'op' group's optimizer; set search.edge_weights=own_group" in message


def test_with_a_fixed_operator_the_edge_weights_keep_their_own_adam():
    recipe = apcdarts("space.factors.0.choices=[sep_conv_3x3]")
    net, opts = setup(recipe)
    assert list(opts) == ["activation", "edge"]
    assert held(opts["edge"]) == ids(net.arch_parameters()["edge"])


def test_frozen_operator_still_steps_the_edge_weights():
    net, opts = setup(apcdarts("search.arch_overrides.op.frozen=true"))
    assert held(opts["op"]) == ids(net.arch_parameters()["edge"])
    assert not any(p.requires_grad for p in net.arch_parameters()["op"])


def test_a_checkpoint_with_other_architecture_groups_is_refused():
    _, opts = setup(apcdarts())
    saved = {"op": {}, "activation": {}, "edge": {}}
    with pytest.raises(FactorspaceError, match=r"ckpt.pt: the checkpoint's architecture "):
        check_arch_optimizers(saved, opts, "ckpt.pt")
    check_arch_optimizers({"op": {}, "activation": {}}, opts, "ckpt.pt")  # the same: accepted
