"""The notebook API: what ``import factorspace as fs`` offers."""

import factorspace as fs
from factorspace.retrain.train import train
from factorspace.search.loop import search


def test_the_verbs_are_functions_on_the_package():
    assert fs.search is search and fs.train is train
    for name in fs.__all__:
        assert getattr(fs, name) is not None, name


def test_subpackages_stay_importable_beside_the_functions():
    import factorspace.search.multiseed  # noqa: F401
    from factorspace.search import optim  # noqa: F401

    assert fs.search is search
