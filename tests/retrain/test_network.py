"""DARTS's evaluation networks from genotypes: sizes, shapes, activations, drop path."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from factorspace.errors import RecipeError
from factorspace.genotype import Genotype, save_genotype
from factorspace.ops import FactorizedReduce
from factorspace.ops.activations import Swish
from factorspace.retrain import NetworkCIFAR, NetworkImageNet, create_model
from factorspace.retrain.network import Edge, drop_path
from factorspace.schema.train import NetworkConfig
from tests.retrain.conftest import DARTS_V2, MIXED, TINY


def parameters(module: nn.Module | None) -> int:
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


@pytest.mark.parametrize(
    ("dataset", "without_aux", "with_aux"),
    [
        ("cifar10", 3_349_342, 3_825_768),  # DARTS's train.py logs 3.349342 MB
        ("imagenet", 4_718_752, 5_979_528),  # the DARTS paper: 4.7M
    ],
)
def test_darts_v2_has_darts_parameter_count(dataset, without_aux, with_aux):
    model = create_model(DARTS_V2, dataset)
    assert parameters(model) - parameters(model.auxiliary_head) == without_aux
    assert parameters(model) == with_aux


def test_defaults_are_darts_per_dataset():
    cifar, imagenet = NetworkConfig(), NetworkConfig(dataset="imagenet")
    assert (cifar.channels, cifar.cells, cifar.classes, cifar.drop_path) == (36, 20, 10, 0.2)
    assert (imagenet.channels, imagenet.cells, imagenet.classes) == (48, 14, 1000)
    assert imagenet.drop_path == 0.0
    assert cifar.auxiliary and cifar.auxiliary_weight == imagenet.auxiliary_weight == 0.4


def test_unknown_size_is_refused_with_a_suggestion():
    with pytest.raises(ValidationError, match="did you mean 'channels'"):
        create_model(DARTS_V2, chanels=8)
    with pytest.raises(ValidationError, match="unknown dataset 'cifar100'"):
        create_model(DARTS_V2, "cifar100")


def test_cifar_forward_shapes_and_auxiliary_head():
    model = create_model(DARTS_V2, **TINY)
    assert isinstance(model, NetworkCIFAR)
    images = torch.randn(2, 3, 32, 32)
    logits, logits_aux = model.train()(images)
    assert logits.shape == logits_aux.shape == (2, 10)
    assert model.eval()(images).shape == (2, 10)


def test_without_auxiliary_training_returns_logits():
    model = create_model(DARTS_V2, auxiliary=False, **TINY).train()
    assert model.auxiliary_head is None
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_imagenet_forward_shapes():
    model = create_model(DARTS_V2, "imagenet", channels=4, cells=3, classes=7)
    assert isinstance(model, NetworkImageNet)
    images = torch.randn(2, 3, 224, 224)
    logits, logits_aux = model.train()(images)
    assert logits.shape == logits_aux.shape == (2, 7)
    assert model.eval()(images).shape == (2, 7)


def test_every_parameter_gets_a_gradient():
    model = create_model(MIXED, **TINY).train()
    logits, logits_aux = model(torch.randn(2, 3, 32, 32))
    (logits.sum() + logits_aux.sum()).backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_cells_follow_darts_layout():
    model = create_model(DARTS_V2, channels=4, cells=8)
    assert [cell.reduction for cell in model.cells] == [i in (2, 5) for i in range(8)]
    after_reduction = [isinstance(c.preprocess0, FactorizedReduce) for c in model.cells]
    assert after_reduction == [i in (3, 6) for i in range(8)]
    imagenet = create_model(DARTS_V2, "imagenet", channels=4, cells=3)
    assert isinstance(imagenet.cells[0].preprocess0, FactorizedReduce)  # after the stride-2 stem


def test_edges_hold_exactly_the_genotypes_choices():
    model = create_model(MIXED, **TINY)
    normal, reduce = model.cells[0], model.cells[1]
    kinds = [
        {factor: type(m) for factor, m in edge.inputs.items()} for edge in normal.edges
    ]  # fmt: skip
    assert kinds == [
        {"activation": nn.SELU},
        {"activation": nn.PReLU},
        {},
        {"activation": Swish},
        {"activation": nn.LeakyReLU, "gate": nn.ReLU6},
    ]
    assert [list(edge.inputs) for edge in reduce.edges] == [[], ["activation"], [], []]
    assert isinstance(reduce.edges[1].inputs["activation"], nn.ELU)
    # Parameterized operators start with their convolution: the activation is the genotype's.
    sep5 = normal.edges[1].op
    assert isinstance(sep5[0], nn.Conv2d) and sep5[0].kernel_size == (5, 5)
    assert normal.edges[4].op[0].kernel_size == (1, 1)
    # Stride 2 from the cell inputs of a reduction cell only.
    assert isinstance(reduce.edges[2].op, FactorizedReduce)
    assert reduce.edges[1].op[0].stride == (2, 2)
    assert reduce.edges[3].op.stride == 1
    assert isinstance(normal.edges[2].op, nn.Identity)


def test_input_transforms_run_in_the_genotypes_order():
    edge = create_model(MIXED, **TINY).cells[0].edges[4]
    calls = []
    for name, module in [*edge.inputs.items(), ("op", edge.op)]:
        module.register_forward_hook(lambda m, i, o, name=name: calls.append(name))
    edge(torch.randn(1, 4, 4, 4), 0.0)
    assert calls == ["activation", "gate", "op"]


def test_node_sums_all_its_edges():
    cell = create_model(MIXED, **TINY).cells[0].eval()
    assert cell.node_edges == [[0, 1], [2, 3, 4]]
    s0, s1 = torch.randn(1, 12, 8, 8), torch.randn(1, 12, 8, 8)
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    n2 = cell.edges[0](states[0], 0.0) + cell.edges[1](states[1], 0.0)
    n3 = sum(cell.edges[i](([*states, n2])[cell.edges[i].source], 0.0) for i in (2, 3, 4))
    torch.testing.assert_close(cell(s0, s1, 0.0), torch.cat([n2, n3], dim=1))


def test_drop_path_zeroes_whole_samples_and_rescales():
    torch.manual_seed(0)
    x = torch.ones(64, 2, 3, 3)
    y = drop_path(x, 0.25)
    per_sample = y.flatten(1)
    assert (per_sample == per_sample[:, :1]).all()
    kept = per_sample[:, 0] != 0
    assert 0 < kept.sum() < 64
    torch.testing.assert_close(per_sample[kept], torch.full_like(per_sample[kept], 1 / 0.75))


def test_drop_path_only_in_training_and_never_on_identity():
    torch.manual_seed(0)
    x = torch.randn(16, 4, 4, 4)
    pool = Edge(0, 2, {}, nn.MaxPool2d(3, 1, 1))
    assert torch.equal(pool.eval()(x, 0.5), pool.op(x))
    assert not torch.equal(pool.train()(x, 0.5), pool.op(x))
    identity = Edge(0, 2, {}, nn.Identity()).train()
    assert torch.equal(identity(x, 0.5), x)
    assert not Edge(0, 2, {"activation": nn.SELU()}, nn.Identity()).identity


def test_network_drop_path_probability_is_used_in_training_only():
    model = create_model(DARTS_V2, drop_path=0.0, **TINY)
    images = torch.randn(4, 3, 32, 32)
    model.eval()
    reference = model(images)
    model.drop_path_prob = 0.5
    torch.testing.assert_close(model(images), reference)
    model.train()
    torch.manual_seed(0)
    dropped = model(images)[0]
    model.drop_path_prob = 0.0
    assert not torch.allclose(dropped, model(images)[0])


def test_config_drop_path_sets_the_attribute():
    assert create_model(DARTS_V2, drop_path=0.3, **TINY).drop_path_prob == 0.3
    assert create_model(DARTS_V2, **TINY).drop_path_prob == 0.2


def _without_node_3() -> Genotype:
    data = DARTS_V2.model_dump()
    data["normal"]["edges"] = [e for e in data["normal"]["edges"] if e["target"] != 3]
    return Genotype.model_validate(data)


def test_malformed_genotype_is_refused_naming_the_field():
    with pytest.raises(RecipeError) as info:
        create_model(_without_node_3(), **TINY)
    assert str(info.value) == "normal.edges: nodes [3] have no incoming edge"


def test_malformed_genotype_file_is_refused_naming_file_line_and_field(tmp_path):
    path = save_genotype(_without_node_3(), tmp_path / "g.yaml")
    line = path.read_text().splitlines().index("  edges:") + 1  # the normal cell's
    with pytest.raises(RecipeError) as info:
        create_model(path, **TINY)
    assert str(info.value) == f"{path}:{line}: normal.edges: nodes [3] have no incoming edge"


def test_unregistered_activation_is_refused_naming_the_field():
    data = DARTS_V2.model_dump()
    data["normal"]["edges"][1]["inputs"] = {"activation": "swsh"}
    with pytest.raises(RecipeError) as info:
        create_model(Genotype.model_validate(data), **TINY)
    assert str(info.value).startswith(
        "normal.edges[1].inputs.activation: unknown activation 'swsh' (did you mean 'swish'?)"
    )


def test_zoo_name_and_run_directory_resolve(tmp_path):
    model = create_model("darts_v2")
    assert parameters(model) - parameters(model.auxiliary_head) == 3_349_342
    save_genotype(DARTS_V2, tmp_path / "genotype.json")
    assert parameters(create_model(tmp_path, **TINY)) == parameters(create_model(DARTS_V2, **TINY))


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet"])
def test_the_auxiliary_tower_runs_on_exactly_the_image_sizes_the_recipe_accepts(dataset):
    from factorspace.schema.train import auxiliary_image_sizes

    sizes = auxiliary_image_sizes(dataset)

    def runs(side: int) -> bool:
        with torch.device("meta"):
            model = create_model(DARTS_V2, dataset, channels=4, cells=5).train()
            try:
                model(torch.empty(2, 3, side, side))
            except RuntimeError:
                return False
        return True

    for side in (sizes[0] - 1, sizes[0], sizes[-1], sizes[-1] + 1):
        assert runs(side) == (side in sizes), side
