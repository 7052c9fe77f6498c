"""The search: per-factor optimizers (Algorithm 1) and the loop that leaves a run directory."""

from factorspace.errors import Interrupted
from factorspace.search.loop import SearchResult, search

__all__ = ["Interrupted", "SearchResult", "search"]
