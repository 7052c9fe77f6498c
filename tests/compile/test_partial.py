"""PC-DARTS in the supernet: partial channels, edge normalisation, the ImageNet stem, recipes."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import factorspace as fs
from factorspace.compile import Space, compile_supernet
from factorspace.compile.edge import build_edge
from factorspace.compile.partial import PartialEdge, channel_shuffle
from factorspace.ops.fused import fused_mix
from factorspace.search import optim, search
from tests.conftest import ROOT, paper_space

PCDARTS_RECIPES = ["pcdarts_cifar", "apcdarts_cifar", "apcdarts_imagenet"]
TINY = ["supernet.channels=8", "supernet.cells=3", "space.cell.nodes=2"]
TINY_SEARCH = [
    *TINY,
    "search.epochs=1",
    "search.warmup_epochs=0",
    "search.batch_size=16",
    "data.dataset=bundled",
    "data.subset_per_class=0.005",
    "data.workers=0",
    "data.image_size=8",
    "search.tensorboard=false",
]


def tiny(name: str, *extra: str) -> fs.Recipe:
    return fs.load_recipe(ROOT / "recipes" / f"{name}.yaml", [*TINY, *extra])


def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(8.0).view(1, 8, 1, 1).expand(2, 8, 3, 3)
    y = channel_shuffle(x, 4)  # groups [0 1] [2 3] [4 5] [6 7] -> 0 2 4 6 1 3 5 7
    assert y[0, :, 0, 0].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert torch.equal(channel_shuffle(y, 2), x)  # K groups then C/K groups: the identity
    assert torch.equal(channel_shuffle(x, 1), x)
    x = torch.randn(2, 8, 3, 3)
    last = channel_shuffle(x.contiguous(memory_format=torch.channels_last), 4)
    assert torch.equal(last, channel_shuffle(x, 4))
    assert last.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_edge_mixes_c_over_k_channels_and_passes_the_rest(stride):
    space = Space(paper_space())
    torch.manual_seed(0)
    edge = PartialEdge(space, 8, stride, 4).eval()
    x = torch.randn(2, 8, 8, 8)
    w = {f: torch.softmax(torch.randn(space.arch_width(f)), -1) for f in space.searched_factors}
    out = edge(x, w)
    assert out.shape == (2, 8, 8 // stride, 8 // stride)
    unshuffled = channel_shuffle(out, 2)  # undoes channel_shuffle(., 4) on 8 channels
    torch.testing.assert_close(unshuffled[:, :2], edge.edge(x[:, :2], w))
    bypass = x[:, 2:] if stride == 1 else nn.functional.max_pool2d(x[:, 2:], 2, 2)
    torch.testing.assert_close(unshuffled[:, 2:], bypass)
    assert {m.num_features for m in edge.modules() if isinstance(m, nn.BatchNorm2d)} == {2}


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_edge_with_k1_equals_the_mixed_edge(stride):
    space = Space(paper_space())
    plain = build_edge(space, 8, stride).eval()
    partial = PartialEdge(space, 8, stride, 1).eval()
    partial.edge.load_state_dict(plain.state_dict())
    x = torch.randn(2, 8, 8, 8)
    w = {f: torch.softmax(torch.randn(space.arch_width(f)), -1) for f in space.searched_factors}
    torch.testing.assert_close(partial(x, w), plain(x, w), rtol=0, atol=0)


def test_supernet_with_k1_partial_edges_equals_the_plain_supernet(images):
    recipe = tiny("adarts_cifar")
    torch.manual_seed(0)
    plain = compile_supernet(recipe.space, recipe.supernet).eval()
    torch.manual_seed(0)
    wrapped = compile_supernet(recipe.space, recipe.supernet).eval()
    wrapped.load_state_dict(plain.state_dict())
    for cell in wrapped.cells:
        for k, (src, _) in enumerate(wrapped.space.edge_list()):
            plain_edge = cell.edges[k]
            c = next(m.num_features for m in plain_edge.modules() if isinstance(m, nn.BatchNorm2d))
            stride = 2 if cell.reduction and src < 2 else 1
            cell.edges[k] = PartialEdge(wrapped.space, c, stride, 1).eval()
            cell.edges[k].edge.load_state_dict(plain_edge.state_dict())
    wrapped.set_mixing(fused_mix)  # as the recipe's supernet.fused_activation (default) set it
    assert recipe.supernet.fused_activation
    torch.testing.assert_close(wrapped(images), plain(images), rtol=0, atol=0)
    # partial_channels: 1 (the default) builds the plain supernet, weight for weight
    k1 = compile_supernet(recipe.space, recipe.supernet.model_copy(update={"partial_channels": 1}))
    assert k1.state_dict().keys() == plain.state_dict().keys()


@pytest.mark.parametrize("name", PCDARTS_RECIPES)
def test_pcdarts_recipes_compile_with_their_options_and_every_group_gets_a_gradient(name):
    size = 32 if name.endswith("imagenet") else 8  # the ImageNet stem divides by 8
    recipe = tiny(name, f"data.image_size={size}")
    net = compile_supernet(recipe.space, recipe.supernet)
    assert isinstance(net.cells[0].edges[0], PartialEdge)
    x = torch.randn(2, 3, size, size)
    logits = net(x)
    assert logits.shape == (2, recipe.supernet.classes) and torch.isfinite(logits).all()
    logits.logsumexp(-1).sum().backward()
    groups = net.arch_parameters()
    assert list(groups)[-1] == "edge" and groups["edge"][0].shape == (5,)  # 2 + 3 inputs
    for group, params in groups.items():
        for p in params:
            assert p.grad is not None and p.grad.abs().sum() > 0, group


def test_edge_weights_are_a_softmax_over_each_nodes_inputs():
    recipe = tiny("pcdarts_cifar")
    net = compile_supernet(recipe.space, recipe.supernet)
    with torch.no_grad():
        net.arch["normal"]["edge"].copy_(torch.tensor([0.0, 1.0, 2.0, 0.0, -1.0]))
    w = net.edge_weights()["normal"]
    torch.testing.assert_close(w[:2], torch.softmax(torch.tensor([0.0, 1.0]), -1))
    torch.testing.assert_close(w[2:], torch.softmax(torch.tensor([2.0, 0.0, -1.0]), -1))
    assert compile_supernet(paper_space(), tiny("adarts_cifar").supernet).edge_weights() is None


def test_node_is_the_edge_weighted_sum_of_its_edges(images):
    recipe = tiny("apcdarts_cifar")
    net = compile_supernet(recipe.space, recipe.supernet).eval()
    cell = net.cells[0]
    s = torch.randn(2, net.config.stem_multiplier * 8, 8, 8)
    weights, beta = net.arch_weights()["normal"], net.edge_weights()["normal"]
    h = [cell.preprocess0(s), cell.preprocess1(s)]

    def edge(k, x):
        return cell.edges[k](x, {f: w[k] for f, w in weights.items()})

    node2 = beta[0] * edge(0, h[0]) + beta[1] * edge(1, h[1])
    node3 = beta[2] * edge(2, h[0]) + beta[3] * edge(3, h[1]) + beta[4] * edge(4, node2)
    forward = net.forward_weights()["normal"]
    torch.testing.assert_close(cell(s, s, forward, beta), torch.cat([node2, node3], 1))


def test_imagenet_stem_is_three_stride_2_convs():
    net = compile_supernet(paper_space(), tiny("apcdarts_imagenet").supernet)
    strides = [m.stride for m in [*net.stem0, *net.stem1] if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2)] * 3
    assert net.cells[0].preprocess0.__class__.__name__ == "FactorizedReduce"
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 1000)


def test_k_that_does_not_divide_the_channels_is_refused():
    with pytest.raises(fs.RecipeError, match=r"partial_channels: K=4 must divide channels=6"):
        fs.load_recipe(ROOT / "recipes/pcdarts_cifar.yaml", ["supernet.channels=6"])


def test_image_size_must_survive_the_stem_and_the_reductions():
    with pytest.raises(fs.RecipeError, match=r"data.image_size: 16 is not a multiple of 32"):
        fs.load_recipe(ROOT / "recipes/apcdarts_imagenet.yaml", ["data.image_size=16"])


def test_a_factor_named_edge_clashes_with_edge_normalization(tmp_path):
    path = tmp_path / "clash.yaml"
    text = (ROOT / "recipes/apcdarts_cifar.yaml").read_text()
    path.write_text(text.replace("name: activation", "name: edge"))
    with pytest.raises(fs.RecipeError, match=r"space.factors\[1\].name: 'edge' names the edge-"):
        fs.load_recipe(path)


def test_own_group_edge_weights_are_updated_last_or_in_the_recipes_order():
    recipe = tiny("apcdarts_cifar")
    net = compile_supernet(recipe.space, recipe.supernet)
    default = tiny("apcdarts_cifar", "search.edge_weights=own_group").search
    assert list(optim.arch_optimizers(net, default)) == ["op", "activation", "edge"]
    edge_first = tiny(
        "apcdarts_cifar", "search.edge_weights=own_group", "search.factor_order=[edge, op]"
    ).search
    assert list(optim.arch_optimizers(net, edge_first)) == ["edge", "op", "activation"]
    custom = tiny(
        "apcdarts_cifar", "search.edge_weights=own_group", "search.arch_overrides.edge.lr=0.01"
    ).search
    assert optim.arch_optimizers(net, custom)["edge"].param_groups[0]["lr"] == 0.01


def test_tiny_apcdarts_search_moves_every_group(tmp_path):
    recipe = fs.load_recipe(ROOT / "recipes/apcdarts_cifar.yaml", TINY_SEARCH)
    result = search(recipe, out=tmp_path / "run", device="cpu")
    record = json.loads((result.run_dir / "arch" / "epoch_001.json").read_text())
    torch.manual_seed(recipe.search.seed)
    initial = compile_supernet(recipe.space, recipe.supernet)  # same seed: the initial alphas
    for group, params in initial.arch_parameters().items():
        for cell, p in zip(("normal", "reduce"), params, strict=True):
            moved = (torch.tensor(record["alphas"][cell][group]) - p.detach()).abs().max()
            assert moved > 1e-5, (group, cell)
    assert len(record["edge_weights"]["normal"]) == 5
    fs.genotype.check_genotype(result.genotype, Space(recipe.space))
