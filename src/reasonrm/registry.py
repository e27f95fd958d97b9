"""One registry shape for everything chosen by name: protocols, engines and benchmarks.

An entry is an object, or a "package.module:attribute" path imported on first use, so that
naming an engine does not import torch or llama.cpp until that engine is asked for."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from reasonrm.errors import ReasonRMError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to entries, in the order they were added; `get` raises `error` listing the
    names there are."""

    def __init__(self, kind: str, error: type[ReasonRMError] = ReasonRMError) -> None:
        self.kind = kind
        self.error = error
        self._entries: dict[str, T | str] = {}

    def add(self, name: str, entry: T | str) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise self.error(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}")
        entry = self._entries[name]
        if isinstance(entry, str):  # a lazy path: import it once
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
