"""The fused mixed activation's compiled kernels (torch.compile) compute what its eager path and
autograd compute, draw the same random numbers, fall back to the eager path where compiling
fails, and the run says which path ran. Each set of activations compiles once per session."""

from __future__ import annotations

import pytest
import torch

import factorspace as fs
from factorspace.compile.edge import mix
from factorspace.ops import fused, fused_kernel
from factorspace.ops.fused import fused_mix
from tests.conftest import ROOT
from tests.ops.test_fused import NAMES, _assert_same, _modules, _output_and_grads, _weights

QUICKSTART = ROOT / "recipes" / "quickstart.yaml"
TOLERANCE = {torch.float32: {"rtol": 1e-4, "atol": 1e-5}, torch.float64: {}}
# Inputs of more than 4,096 elements: the kernels that fused_kernel.prepare compiles (inductor
# compiles reductions over at most 4,096 elements apart), so that the session compiles three
# graphs (training value and backward, eval value) and the tests reuse them.
SHAPE = (4, 4, 32, 32)


@pytest.fixture
def kernels(compiled_kernels):
    """The compiled kernels of the nine registered activations, compiled once per session."""
    compiled_kernels.prepare(fs.load_recipe(QUICKSTART), torch.device("cpu"))
    return compiled_kernels


def _big_input(dtype=torch.float32, channels_last=False):
    x = torch.randn(SHAPE, dtype=dtype, generator=torch.Generator().manual_seed(1))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_()


def _eager_only(monkeypatch):
    """The eager path's ``_mixed`` made to fail: what runs is the compiled kernels alone."""

    def refuse(*args, **kwargs):
        raise AssertionError("the eager fused path ran")

    monkeypatch.setattr(fused, "_mixed", refuse)


def _compiled_and_eager(monkeypatch, fn, x, w, modules):
    """``fn`` (a fused mix) computed by the compiled kernels alone, then by the eager fused
    path: each one's output and gradients, and a draw after it."""
    results = []
    with monkeypatch.context() as m:
        _eager_only(m)
        results.append((_output_and_grads(fn, x, w, modules), torch.rand(3)))
    with monkeypatch.context() as m:
        m.setenv(fused_kernel.ENV, "eager")
        results.append((_output_and_grads(fn, x, w, modules), torch.rand(3)))
    return results


def _three_ways(monkeypatch, x, w, modules):
    """(compiled, eager fused, autograd): the output and gradients, and a draw after each."""
    results = _compiled_and_eager(monkeypatch, fused_mix, x, w, modules)
    results.append((_output_and_grads(mix, x, w, modules), torch.rand(3)))
    return results


def _check_three_ways(monkeypatch, x, w, modules, dtype):
    (compiled, after), (eager, after_eager), (plain, after_plain) = _three_ways(
        monkeypatch, x, w, modules
    )
    _assert_same(compiled, eager, **TOLERANCE[dtype])
    _assert_same(compiled, plain, **TOLERANCE[dtype])
    # RReLU's slopes are drawn by torch's kernel in all three: the same numbers, as many
    assert torch.equal(after, after_plain) and torch.equal(after_eager, after_plain)


@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_kernels_equal_eager_and_autograd(kernels, monkeypatch, channels_last):
    modules = _modules(NAMES)
    x, w = _big_input(channels_last=channels_last), _weights(len(NAMES))
    _check_three_ways(monkeypatch, x, w, modules, torch.float32)
    assert kernels.unavailable("cpu") is None


def _hashed(x, w, modules):
    return fused_mix(x, w, modules, hashed=True)


@pytest.mark.parametrize("case", ["contiguous", "channels_last", "channel slice"])
def test_compiled_hashed_rrelu_equals_its_eager_path(kernels, monkeypatch, case):
    """``supernet.rrelu_noise: hashed`` (the quick start's, compiled by ``kernels``): the
    kernels hash the positions the eager path hashes, and draw the same one seed."""
    modules = _modules(NAMES, channels=2 if case == "channel slice" else 4)
    x = _big_input(channels_last=case != "contiguous")
    if case == "channel slice":
        x = x.detach()[:, :2].requires_grad_()
    w = _weights(len(NAMES))
    (compiled, after), (eager, after_eager) = _compiled_and_eager(
        monkeypatch, _hashed, x, w, modules
    )
    _assert_same(compiled, eager, **TOLERANCE[torch.float32])
    assert torch.equal(after, after_eager)
    assert kernels.unavailable("cpu") is None


@pytest.mark.slow  # compiles the kernels again for fp64 (seconds)
def test_compiled_kernels_equal_eager_and_autograd_fp64(kernels, monkeypatch):
    modules = _modules(NAMES, torch.float64)
    x, w = _big_input(torch.float64, channels_last=True), _weights(len(NAMES), torch.float64)
    _check_three_ways(monkeypatch, x, w, modules, torch.float64)


def test_compiled_value_kernel_in_eval_without_gradients(kernels, monkeypatch):
    modules = [m.eval() for m in _modules(NAMES)]
    x, w = _big_input(channels_last=True).detach(), _weights(len(NAMES)).detach()
    with torch.no_grad():
        want = mix(x, w, modules)
        with monkeypatch.context() as m:
            _eager_only(m)
            got = fused_mix(x, w, modules)
    torch.testing.assert_close(got, want, **TOLERANCE[torch.float32])
    assert got.is_contiguous(memory_format=torch.channels_last)


def test_compiled_kernels_on_a_channel_slice(kernels, monkeypatch):
    """PC-DARTS mixes a slice of the channels: neither layout is dense; the output keeps the
    slice's channels-innermost order."""
    modules = _modules(NAMES)
    whole = torch.randn(4, 8, 32, 32).contiguous(memory_format=torch.channels_last)
    x = whole[:, :4].detach().requires_grad_()
    _check_three_ways(monkeypatch, x, _weights(len(NAMES)), modules, torch.float32)


def test_a_failed_compile_falls_back_to_the_eager_path_and_says_so(compiled_kernels, monkeypatch):
    def no_compiler(fn, direction, index):
        def fail(*args):
            raise RuntimeError("no C++ compiler found")

        return fail

    monkeypatch.setattr(fused_kernel, "_KERNELS", {})  # the session's compiled ones unused
    monkeypatch.setattr(fused_kernel, "_compile", no_compiler)
    modules = _modules(NAMES)
    x, w = _big_input(), _weights(len(NAMES))
    with pytest.warns(fused_kernel.FusedKernelFallback, match="no C\\+\\+ compiler found"):
        got = _output_and_grads(fused_mix, x, w, modules)
    _assert_same(got, _output_and_grads(mix, x, w, modules), **TOLERANCE[torch.float32])
    assert "RuntimeError: no C++ compiler found" in compiled_kernels.unavailable("cpu")
    line = compiled_kernels.prepare(fs.load_recipe(QUICKSTART), torch.device("cpu")).line
    assert line == (
        "mixed activation: fused, eager (not compiled: RuntimeError: no C++ compiler found); "
        "rrelu: noise hashed in the kernels (supernet.rrelu_noise)"
    )


def test_prepare_compiles_draws_nothing_and_says_compiled(compiled_kernels):
    recipe = fs.load_recipe(QUICKSTART)
    torch.manual_seed(5)
    prepared = compiled_kernels.prepare(recipe, torch.device("cpu"))
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))  # the probe's RReLU draws were undone
    assert prepared.line.startswith("mixed activation: fused, compiled kernels (torch.compile, ")
    assert "C++/OpenMP" in prepared.line


@pytest.mark.parametrize(
    ("recipe", "overrides", "line"),
    [
        ("darts_cifar", [], "mixed activation: none (no mixed input factor in this space)"),
        (
            "nonfactorized_cifar",
            [],
            "mixed activation: none (no mixed input factor in this space)",
        ),
        (
            "adarts_cifar",
            ["supernet.fused_activation=false"],
            "mixed activation: autograd (supernet.fused_activation: false)",
        ),
        (
            "adarts_cifar",
            ["search.compile=true"],
            "mixed activation: autograd's, compiled with torch.compile (search.compile)",
        ),
        (
            "adarts_cifar",
            [],
            "mixed activation: fused, eager (not compiled: FACTORSPACE_FUSED_KERNEL=eager); "
            "rrelu: noise hashed in the kernels (supernet.rrelu_noise)",
        ),
        (
            "adarts_cifar",
            ["supernet.rrelu_noise=torch"],
            "mixed activation: fused, eager (not compiled: FACTORSPACE_FUSED_KERNEL=eager); "
            "rrelu: torch's random draws (supernet.rrelu_noise)",
        ),
        (
            "adarts_cifar",
            ["space.factors.1.choices=[relu,elu,prelu]"],  # nothing random: nothing to say
            "mixed activation: fused, eager (not compiled: FACTORSPACE_FUSED_KERNEL=eager)",
        ),
        (
            "adarts_cifar",
            ["search.precision=bf16"],
            "mixed activation: autograd (search.precision bf16: autocast)",
        ),
    ],
)
def test_the_header_line_says_which_path_computes_the_mix(recipe, overrides, line, monkeypatch):
    monkeypatch.setenv(fused_kernel.ENV, "eager")
    loaded = fs.load_recipe(ROOT / "recipes" / f"{recipe}.yaml", overrides)
    assert fused_kernel.prepare(loaded, torch.device("cpu")).line == line


@pytest.mark.slow  # a tiny search (seconds)
def test_a_search_says_in_its_header_and_run_log_which_path_ran(compiled_kernels, tmp_path):
    import io

    from rich.console import Console

    from tests.search.tiny import tiny_recipe

    recipe = tiny_recipe("search.epochs=1", f"space.factors.1.choices=[{','.join(NAMES)}]")
    shown = io.StringIO()
    fs.search(recipe, out=tmp_path / "run", device="cpu", console=Console(file=shown))
    line = "mixed activation: fused, compiled kernels (torch.compile, C++/OpenMP; "
    assert line in shown.getvalue()
    assert line in (tmp_path / "run" / "run.log").read_text()
