"""softmax: DARTS's relaxation, bit for bit what the supernet computed before relaxations."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import factorspace as fs
from factorspace.compile import compile_supernet
from factorspace.registry import OPERATORS, register_operator
from factorspace.schema import SearchConfig, SpaceConfig, SupernetConfig
from factorspace.search import optim
from tests.search.tiny import one_thread, tiny_recipe

OPS = ["none", "skip_connect", "test_conv_relu"]
ACTS = ["relu", "swish", "elu"]


@pytest.fixture
def conv_relu():
    """An operator whose last module is not a BatchNorm, so the edge multiplies ``w * op(h)``
    as DARTS's mixed op does (a trailing non-affine BN would take the weight inside)."""

    @register_operator("test_conv_relu", tags={"parameterized"})
    def build(channels: int, stride: int, affine: bool) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(channels, channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
            nn.ReLU(),
        )

    yield
    OPERATORS.remove("test_conv_relu")


def space() -> SpaceConfig:
    return SpaceConfig.model_validate(
        {
            "factors": [
                {"name": "op", "role": "operator", "choices": OPS},
                {
                    "name": "activation",
                    "role": "input",
                    "choices": ACTS,
                    "applies_to": {"tags": ["parameterized"]},
                },
            ],
            "cell": {"nodes": 2},
        }
    )


def darts_mixed_op(edge, x, w_op, w_act):
    """DARTS's mixed op, ``sum_o w_o * o(x)``, with the paper's eq. 2 input for the
    parameterized ops: ``sigma(x) = sum_a w_a * a(x)``, computed once where first needed."""
    sigma, terms = None, []
    for i, name in enumerate(OPS):
        if name == "none":
            continue
        h = x
        if name == "test_conv_relu":
            if sigma is None:
                sigma = sum(
                    w_act[a] * edge.transforms[f"activation__{n}"](x) for a, n in enumerate(ACTS)
                )
            h = sigma
        terms.append(w_op[i] * edge.ops[name](h))
    return sum(terms)


def reference_logits(net: fs.Supernet, x: torch.Tensor) -> torch.Tensor:
    """The supernet's forward written out with plain ``F.softmax`` weights."""
    w = {
        t: {f: F.softmax(net.arch[t][f], dim=-1) for f in ("op", "activation")}
        for t in ("normal", "reduce")
    }
    s0 = s1 = net.stem(x)
    for cell in net.cells:
        ws = w["reduce" if cell.reduction else "normal"]
        states, k = [cell.preprocess0(s0), cell.preprocess1(s1)], 0
        for _ in range(cell.nodes):
            outs = []
            for h in states:
                outs.append(darts_mixed_op(cell.edges[k], h, ws["op"][k], ws["activation"][k]))
                k += 1
            states.append(sum(outs))
        s0, s1 = s1, torch.cat(states[2:], dim=1)
    return net.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


@pytest.mark.parametrize("explicit", [False, True], ids=["default", "kind-softmax"])
def test_loss_and_every_gradient_equal_the_darts_reference(conv_relu, explicit):
    search = SearchConfig.model_validate({"relaxation": {"kind": "softmax"}}) if explicit else None
    torch.manual_seed(0)
    # bit for bit: autograd's mix, as the reference computes it (the fused mix, the default,
    # equals it to rounding: tests/compile/test_fused_activation.py)
    config = SupernetConfig(channels=4, cells=2, reduction_cells=[1], fused_activation=False)
    net = compile_supernet(space(), config, "cpu", search)
    x, y = torch.randn(2, 3, 8, 8), torch.tensor([1, 2])
    with one_thread():
        loss = F.cross_entropy(net(x), y)
        grads = torch.autograd.grad(loss, list(net.parameters()))
        expected = F.cross_entropy(reference_logits(net, x), y)
        expected_grads = torch.autograd.grad(expected, list(net.parameters()))
    assert torch.equal(loss, expected)
    names = [n for n, _ in net.named_parameters()]
    for name, g, e in zip(names, grads, expected_grads, strict=True):
        assert torch.equal(g, e), name
    assert net.relaxation_loss() is None  # no loss term: the architecture loss is DARTS's


def op_only_net(*ops: str) -> fs.Supernet:
    space = SpaceConfig.model_validate(
        {"factors": [{"name": "op", "role": "operator", "choices": list(ops)}]}
    )
    return compile_supernet(space, SupernetConfig(channels=4, cells=1, reduction_cells=[]))


def test_probabilities_and_forward_weights_are_the_softmax_of_the_logits():
    net = op_only_net("none", "skip_connect", "max_pool_3x3")
    for t, groups in net.arch_probabilities().items():
        assert torch.equal(groups["op"], F.softmax(net.arch[t]["op"], dim=-1))
        assert torch.equal(net.forward_weights()[t]["op"].values, groups["op"])
        assert net.forward_weights()[t]["op"].chosen is None  # every choice computed


def test_a_search_stating_softmax_equals_the_default_bit_for_bit(tmp_path):
    runs = {}
    for name, extra in [("default", []), ("explicit", ["search.relaxation.kind=softmax"])]:
        recipe = tiny_recipe("search.epochs=2", "search.checkpoint_every_steps=null", *extra)
        with one_thread():
            runs[name] = fs.search(recipe, out=tmp_path / name, device="cpu")
    a, b = runs["default"], runs["explicit"]
    keys = ["train_loss", "train_acc", "val_loss", "val_acc", "normal_skip_count"]
    assert [[r[k] for k in keys] for r in a.metrics] == [[r[k] for k in keys] for r in b.metrics]
    assert a.genotype.normal == b.genotype.normal and a.genotype.reduce == b.genotype.reduce
    for t in a.arch_weights:
        for f in a.arch_weights[t]:
            assert torch.equal(a.arch_weights[t][f], b.arch_weights[t][f])


def test_arch_loss_is_the_cross_entropy_alone():
    net = op_only_net("skip_connect", "max_pool_3x3").eval()
    batch = (torch.randn(2, 3, 8, 8), torch.tensor([0, 1]))
    arch_loss, _ = optim.arch_loss_and_correct(net, batch)
    assert torch.equal(arch_loss, optim.loss_and_correct(net, batch)[0])
