"""Seeding and the random state a checkpoint carries."""

from __future__ import annotations

import random

import torch

from factorspace.run.seeding import rng_state, seed_everything, set_rng_state


def draws() -> tuple:
    return random.random(), torch.rand(3).tolist()


def test_the_same_seed_gives_the_same_draws():
    seed_everything(7)
    first = draws()
    seed_everything(7)
    assert draws() == first
    seed_everything(8)
    assert draws() != first


def test_a_saved_random_state_replays_the_same_draws():
    seed_everything(3)
    draws()  # somewhere in a run
    state = rng_state()
    expected = [draws() for _ in range(3)]
    draws()  # the run goes on, then is resumed from the checkpoint
    set_rng_state(state)
    assert [draws() for _ in range(3)] == expected


def test_the_random_state_holds_python_and_torch():
    state = rng_state()
    assert state["python"] == random.getstate()
    assert torch.equal(state["torch"], torch.get_rng_state())
    assert ("cuda" in state) == torch.cuda.is_available()
