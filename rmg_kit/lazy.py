"""A package's names imported on first use (PEP 562), so that importing the package stays cheap.

rmg loads every plugin's entry module at each start (``rmg --help``
included); a plugin that exports its grader from ``__init__`` would import
pydantic, numpy and the like with it.  Instead::

    __getattr__ = lazy_attributes(__name__, {"MyGrader": "grader"})

exports ``MyGrader`` from ``.grader`` when it is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping


def lazy_attributes(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from ``package.<where[name]>`` when it is first used."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


__all__ = ["lazy_attributes"]
