"""The search: per-factor optimizers (Algorithm 1) and the loop that leaves a run directory."""

from factorspace.search.loop import Interrupted, SearchResult, search

__all__ = ["Interrupted", "SearchResult", "search"]
