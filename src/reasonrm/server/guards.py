"""What protects the server before any judging: the API key, the body size, text lengths.
The first two are ASGI middleware, so a refused request is never parsed; `ApiError` is how
the handlers refuse one with a status and a message."""

from __future__ import annotations

import secrets

from starlette.responses import JSONResponse


class ApiError(Exception):
    """An HTTP error with a message for the caller: answered as {"detail": message}."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def error_response(status: int, detail: str, headers: dict[str, str] | None = None):
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


class ApiKeyMiddleware:
    """Every path but the exempt ones wants `Authorization: Bearer <key>`."""

    def __init__(self, app, key: str, exempt: frozenset[str] = frozenset({"/health"})) -> None:
        self.app = app
        self.expected = f"Bearer {key}".encode()
        self.exempt = exempt

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.exempt:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):  # constant time
                detail = "missing or wrong API key: send the header 'Authorization: Bearer KEY'"
                headers = {"WWW-Authenticate": "Bearer"}
                await error_response(401, detail, headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses a body over `limit` bytes with 413: by its Content-Length when it declares one,
    and by counting what arrives either way (a chunked body declares none). The body read
    here is replayed to the app; after it, `receive` is the server's again, so the app still
    hears when the client disconnects."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > self.limit:
                await self._too_large(int(declared), scope, receive, send)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._too_large(len(body), scope, receive, send, at_least=True)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, size, scope, receive, send, at_least: bool = False) -> None:
        more = "over " if at_least else ""
        detail = f"the request body has {more}{size} bytes; the limit is {self.limit}"
        await error_response(413, detail)(scope, receive, send)


def check_length(text: str, field: str, max_chars: int) -> None:
    """413 naming the field (e.g. "pairs[2].a") when a text is over the limit."""
    if len(text) > max_chars:
        raise ApiError(
            413, f"{field} has {len(text)} characters; the limit is {max_chars} (max_chars)"
        )
