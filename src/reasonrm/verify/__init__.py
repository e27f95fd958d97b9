"""Verifiers: checks that run code or compute answers, one module each behind one registry.

`verify="auto"` runs every verifier whose `applies` says the pair is its kind of task;
`"off"` runs none; a comma-separated list runs those named. A new verifier is one module
and one line here.
"""

from __future__ import annotations

import asyncio

from reasonrm.errors import InputError
from reasonrm.registry import Registry
from reasonrm.types import Comparison
from reasonrm.verify.base import DECIDED_P, CheckContext, Evidence, Verifier, decide

VERIFIERS: Registry[Verifier] = Registry("verifier", InputError)
VERIFIERS.add("code", "reasonrm.verify.code:CodeVerifier")
VERIFIERS.add("math", "reasonrm.verify.math:MathVerifier")


def verifier_names(setting: str) -> list[str]:
    """The verifiers a `verify` setting names: all for "auto", none for "off"; an unknown
    name is an InputError that lists the known ones."""
    if setting == "auto":
        return VERIFIERS.names()
    if setting == "off":
        return []
    names = [n.strip() for n in setting.split(",") if n.strip()]
    if not names:
        raise InputError("verify takes auto, off, or verifier names separated by commas")
    for name in names:
        VERIFIERS.get(name)  # raises, listing the known names
    return names


def get_verifier(name: str) -> Verifier:
    entry = VERIFIERS.get(name)
    return entry() if isinstance(entry, type) else entry


async def run_checks(c: Comparison, names: list[str], ctx: CheckContext) -> list[Evidence]:
    """The evidence of every named verifier that applies to `c`, checked concurrently."""
    verifiers = [get_verifier(n) for n in names]
    applicable = [v for v in verifiers if v.applies(c)]
    if not applicable:
        return []
    return list(await asyncio.gather(*(v.check(c, ctx) for v in applicable)))


__all__ = [
    "DECIDED_P",
    "VERIFIERS",
    "CheckContext",
    "Evidence",
    "Verifier",
    "decide",
    "get_verifier",
    "run_checks",
    "verifier_names",
]
