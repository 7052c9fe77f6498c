"""Recipe -> candidates (no torch) -> mixed edges -> cells -> supernet."""

from factorspace.compile.candidates import Candidate, Space
from factorspace.compile.supernet import SearchCell, Supernet, compile_supernet

__all__ = ["Candidate", "SearchCell", "Space", "Supernet", "compile_supernet"]
