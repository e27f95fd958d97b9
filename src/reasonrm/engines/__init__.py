"""Engines by name; heavy dependencies are imported only by the engine that needs them."""

from __future__ import annotations

from typing import Any

from reasonrm.engines.base import Engine
from reasonrm.errors import UnknownEngineError

ENGINES = ("llamacpp", "openai", "transformers")


def load_engine(engine: str = "llamacpp", model: str | None = None, **options: Any) -> Engine:
    """Start an engine. llamacpp: `model` is a registry name or .gguf path (default: the
    embedded qwen2.5-1.5b). openai: `model` is the served name, `base_url=` the server.
    transformers: `model` is a checkpoint folder, a .gguf file or a registry name."""
    if engine == "llamacpp":
        from reasonrm.engines.llamacpp import LlamaCppEngine

        return LlamaCppEngine(model or "qwen2.5-1.5b", **options)
    if engine == "openai":
        from reasonrm.engines.openai import OpenAIEngine

        return OpenAIEngine(model=model, **options)
    if engine == "transformers":
        from reasonrm.engines.transformers import TransformersEngine

        if not model:
            raise UnknownEngineError("the transformers engine needs a model (folder or .gguf)")
        return TransformersEngine(model, **options)
    raise UnknownEngineError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "load_engine"]
