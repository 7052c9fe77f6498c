"""Seeding, and the random state a checkpoint carries so a resumed run draws what an
uninterrupted one would."""

from __future__ import annotations

import random

import torch


def seed_everything(seed: int) -> None:
    """Seed Python's and torch's generators (every device's)."""
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Python's and torch's generator states (and CUDA's, where available)."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Put back a state from :func:`rng_state`."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
