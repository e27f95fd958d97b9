"""Values made once per key and shared: a prompt's reference answer, a response's rating,
the judge's programs and tests for a prompt."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any


class Memo:
    """`await once(key, make)` runs `make()` once per key and shares its value with every
    caller, also while it is being made; the `size` latest keys are kept. A failure is not
    kept: the next caller tries again."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._futures: OrderedDict[str, asyncio.Future] = OrderedDict()

    async def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
        """The value, and True for the caller that made it."""
        if key in self._futures:
            return await asyncio.shield(self._futures[key]), False
        future = asyncio.get_running_loop().create_future()
        self._futures[key] = future
        if len(self._futures) > self.size:
            self._futures.popitem(last=False)
        try:
            value = await make()
        except BaseException as e:
            self._futures.pop(key, None)
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        future.set_result(value)
        return value, True
