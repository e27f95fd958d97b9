"""Engines by name; heavy dependencies are imported only by the engine that needs them.
A new engine is one file in this package (an `Engine` subclass with `from_spec`) and one
registry line here."""

from __future__ import annotations

from typing import Any

from reasonrm.engines.base import Engine
from reasonrm.errors import UnknownEngineError
from reasonrm.registry import Registry
from reasonrm.specs import EngineSpec

ENGINES: Registry[type[Engine]] = Registry("engine", UnknownEngineError)
ENGINES.add("llamacpp", "reasonrm.engines.llamacpp:LlamaCppEngine")
ENGINES.add("openai", "reasonrm.engines.openai:OpenAIEngine")
ENGINES.add("transformers", "reasonrm.engines.transformers:TransformersEngine")


def load_engine(
    engine: EngineSpec | str = "llamacpp", model: str | None = None, **options: Any
) -> Engine:
    """Start an engine, from an `EngineSpec` (what the command line builds) or by name.

    By name: llamacpp: `model` is a registry name or .gguf path (default: the embedded
    qwen2.5-1.5b). openai: `model` is the served name, `base_url=` the server. transformers:
    `model` is a checkpoint folder, a .gguf file or a registry name. `options` go to the
    engine's constructor. With a spec, `options` may hold `progress` (a callable for download
    messages)."""
    if isinstance(engine, EngineSpec):
        spec = engine.resolved()
        return ENGINES.get(spec.engine).from_spec(spec, **options)
    if engine == "auto":
        spec = EngineSpec(model=model, base_url=options.get("base_url")).resolved()
        engine = spec.engine
    cls = ENGINES.get(engine)
    return cls(model=model, **options)


__all__ = ["ENGINES", "Engine", "EngineSpec", "load_engine"]
