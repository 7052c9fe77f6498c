"""Recipe -> candidates (no torch) -> mixed edges -> cells -> supernet.

The names load on first use (PEP 562), so ``factorspace.compile.candidates`` (pure Python) can be
imported without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from factorspace.compile.candidates import Candidate, Space
    from factorspace.compile.supernet import SearchCell, Supernet, compile_supernet

_MODULE_OF = {
    "Candidate": "factorspace.compile.candidates",
    "Space": "factorspace.compile.candidates",
    "SearchCell": "factorspace.compile.supernet",
    "Supernet": "factorspace.compile.supernet",
    "compile_supernet": "factorspace.compile.supernet",
}

__all__ = ["Candidate", "SearchCell", "Space", "Supernet", "compile_supernet"]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
