"""ASGI guards in front of the routes: the request body's size, and the metrics' token."""

import hmac

from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART = b"multipart/form-data"


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses (413) a request body over its limit before it is read whole: at once when its
    Content-Length says so, or as soon as the bytes received pass the limit. Multipart bodies
    (uploads) have their own limit, the largest upload plus the form's other parts."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_multipart_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_multipart_bytes = max_multipart_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = self.max_multipart_bytes if headers.get(b"content-type", b"").startswith(MULTIPART) else self.max_bytes
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > limit:
            await too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large(limit)(scope, receive, send)


def too_large(limit: int) -> JSONResponse:
    message = f"the request body is larger than {limit} bytes"
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT", "maxBytes": limit}}]}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


class MetricsGuard:
    """/metrics wants its own bearer token when one is set (compared in constant time); without
    one it is served in development only, and is not there (404) in production."""

    def __init__(self, app: ASGIApp, token: str, development: bool) -> None:
        self.app = app
        self.token = token.encode()
        self.development = development

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allowed(dict(scope["headers"]).get(b"authorization", b"")):
            status = 401 if self.token else 404
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if self.token else None
            await PlainTextResponse("metrics need their bearer token" if self.token else "Not Found", status, headers)(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)

    def allowed(self, authorization: bytes) -> bool:
        if not self.token:
            return self.development
        return hmac.compare_digest(authorization, b"Bearer " + self.token)
