"""Serve a reasoning reward model over HTTP, for RL trainers and other programs.

`create_app(judge, settings)` builds the FastAPI app; `reasonrm serve` runs it with uvicorn.
The request and response bodies are `reasonrm.api_models` (shared with the client). This
package imports nothing heavy itself: import `reasonrm.server.app` for the app.
"""

from reasonrm.server.settings import ServerSettings

__all__ = ["ServerSettings"]
