"""Space (candidates, :mod:`factorspace.space`) -> mixed edges -> cells -> supernet."""

from factorspace.compile.supernet import SearchCell, Supernet, compile_supernet
from factorspace.space import Candidate, Space

__all__ = ["Candidate", "SearchCell", "Space", "Supernet", "compile_supernet"]
