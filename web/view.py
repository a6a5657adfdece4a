"""The GraphQL endpoint: Strawberry's ASGI view, with what Chirp adds at the HTTP edge.

- The context: the caller's token, client IP, and the response to come (for headers).
- GraphQL over HTTP: application/graphql-response+json when the client asks for it, with the
  spec's status codes; application/json answers 200 as before. A request error (the document
  does not parse or validate, or a limit refuses it) carries no `data`. Either way, a request
  that is nothing but rate-limited is 429 with Retry-After, and a mutation over GET is 405.
- Persisted queries (schema/persisted.py) fill in the document before execution.
- Multipart uploads: the token and the upload budget are checked before any file part is
  spooled, and only the parts of one upload are read.
- WebSocket: the token is checked at connection_init, and the connection closes (4401) when the
  token expires or is revoked.
"""

import asyncio
import json
import logging
import time
from contextlib import suppress
from typing import Any, cast

import orjson
from cross_web import FormData, HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET, UnsetType

import graphiql
from errors import ChirpError, Unauthenticated
from feeds.live import Listener, UpdatesLost
from resolvers.admission import Action, admit, spend_action, still_good
from resolvers.clients import Clients
from resolvers.context import Context
from schema import persisted
from web.client_ip import client_ip

logger = logging.getLogger("chirp.view")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
ERROR_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "RATE_LIMITED": 429, "SERVICE_UNAVAILABLE": 503}
TOKEN_CLOSED = 4401  # graphql-transport-ws: the connection's credentials are no longer good


class ChirpResponse(Response):
    """The sub-response Strawberry hands to the context: carries the media type the client accepts."""

    graphql_response_json: bool = False


def prefers_graphql_response_json(accept: str) -> bool:
    """Whether the client asks for application/graphql-response+json over application/json
    (a missing Accept or */* gets application/json, as clients written before the spec expect)."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                with suppress(ValueError):
                    quality = float(value)
        weights[media_type.lower()] = max(quality, weights.get(media_type.lower(), 0.0))
    wanted = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    return wanted > 0 and wanted >= weights.get("application/json", 0.0)


def error_code(error: object) -> object:
    return cast(dict[str, Any], error).get("extensions", {}).get("code") if isinstance(error, dict) else None


def nothing_but_rate_limited(response_data: GraphQLHTTPResponse, root_fields: frozenset[str]) -> bool:
    """Refused as a whole (no data), or every root field refused: nothing ran, so a retry after
    Retry-After repeats nothing. (Non-null root fields make `data` null as soon as one fails,
    so the root fields are counted from the errors' paths, not from the data.)"""
    errors = [cast(dict[str, Any], error) for error in response_data.get("errors") or []]
    if not errors or any(error_code(error) != "RATE_LIMITED" for error in errors):
        return False
    refused = {error["path"][0] for error in errors if error.get("path")}
    return "data" not in response_data or (bool(root_fields) and refused >= root_fields)


def is_request_error(result: ExecutionResult) -> bool:
    """Refused before any field ran: before execution, or by variable coercion (whose errors,
    unlike field errors, have no path)."""
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors or ())


def retry_after(response_data: GraphQLHTTPResponse) -> int:
    return max(
        int(cast(dict[str, Any], error).get("extensions", {}).get("retryAfter") or 1)
        for error in response_data.get("errors") or []
    )


def refusal_response(error: ChirpError) -> JSONResponse:
    """A request refused before GraphQL ran: the error in a GraphQL response, with a status to match."""
    body = {"errors": [{"message": str(error), "extensions": {"code": error.code, **error.extensions}}]}
    headers = {"Retry-After": str(error.extensions["retryAfter"])} if "retryAfter" in error.extensions else None
    return JSONResponse(body, status_code=ERROR_STATUS.get(error.code, 400), headers=headers)


class UploadRequestAdapter(StarletteRequestAdapter):
    """Reads a multipart body only once the uploader is known and within budget, and only the
    parts of one upload (operations, map, one file)."""

    async def get_form_data(self) -> FormData:
        request = self._request
        context: Context = request.state.context
        await admit(context, 0)
        await spend_action(context, Action.UPLOAD)
        limit = context.clients.settings.max_body_bytes
        form = await request.form(max_files=1, max_fields=2, max_part_size=limit)
        return FormData(files=form, form=form)


class ChirpGraphQL(GraphQL[Context, None]):
    request_adapter_class = UploadRequestAdapter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ChirpError as error:  # refused at the edge (an upload's token or budget)
            await refusal_response(error)(scope, receive, send)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        response = ChirpResponse()
        response.status_code = None  # type: ignore[assignment]
        del response.headers["content-length"]
        response.graphql_response_json = prefers_graphql_response_json(request.headers.get("accept", ""))
        return response

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        clients: Clients = request.app.state.clients
        settings = clients.settings
        context = Context(
            clients=clients,
            authorization=request.headers.get("authorization"),
            client_ip=client_ip(
                request.client.host if request.client else None,
                request.headers.get("x-forwarded-for"),
                settings.trusted_proxies,
            ),
            response=response if isinstance(response, Response) else None,
        )
        request.state.context = context
        if isinstance(request, WebSocket):
            request.state.watcher = asyncio.create_task(watch_token(request, context))
        return context

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's navigation (text/html), never an API client's GET of a persisted query."""
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry's GraphiQL page, but loading its files from this app (graphiql.py), not unpkg.com."""
        clients: Clients = request.app.state.clients
        return graphiql.page(clients.settings.graphiql_assets_dir)

    async def parse_http_body(self, request_adapter: Any) -> Any:
        try:
            return await super().parse_http_body(request_adapter)
        except HTTPException as error:
            if error.reason == "Unsupported content type":  # the spec's status for it
                raise HTTPException(415, "send application/json, or multipart/form-data for uploads") from error
            raise

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """Strawberry's, refusing a malformed map (a path into a value that holds nothing) as 400."""
        form_data = await request.get_form_data()
        operations, files_map = (form_data.form.get(name, "{}") for name in ("operations", "map"))
        try:
            return replace_placeholders_with_files(
                self.parse_json(operations) if isinstance(operations, str | bytes) else operations,
                self.parse_json(files_map) if isinstance(files_map, str | bytes) else files_map,
                form_data.files,
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise HTTPException(400, "The multipart map does not match the operations and files sent") from error

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        if isinstance(request_data, GraphQLRequestData):
            refused = await persisted.fill_in(context, request_data)
            if refused is not None:
                return PreExecutionError(data=None, errors=[refused])
        try:
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise HTTPException(405, "mutations are sent by POST") from error
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """A request error (nothing executed: the document, or its variables, were refused) has no
        data, as the GraphQL spec says; an answer that is nothing but rate-limited is 429, with
        Retry-After."""
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
        context: Context = request.state.context
        if context.response is not None and nothing_but_rate_limited(response, context.root_fields):
            context.response.status_code = 429
            context.response.headers["Retry-After"] = str(retry_after(response))
        return response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, list):
            return response
        strict = isinstance(sub_response, ChirpResponse) and sub_response.graphql_response_json
        if strict:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        if strict and "data" not in response_data and response.status_code == 200:
            codes = {error_code(error) for error in response_data.get("errors") or []}
            (code,) = codes if len(codes) == 1 else (None,)
            response.status_code = ERROR_STATUS.get(code, 400) if isinstance(code, str) else 400
        return response

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """A WebSocket authenticates with its connection_init payload; a bad or revoked token is
        refused there (graphql-transport-ws closes with 4403; the legacy graphql-ws answers
        connection_error, UNAUTHENTICATED, and closes). A good one is watched for as long as the
        connection lasts."""
        try:
            if context.claims is not None:  # a bad token raises here, a revoked one below
                await admit(context, 0)
                context.optional_viewer()
        except Unauthenticated as error:
            refusal: dict[str, object] = {"message": str(error), "extensions": {"code": error.code}}
            raise ConnectionRejectionError(refusal) from error
        return UnsetType()  # acknowledged without a payload

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        finally:
            watcher = getattr(request.state, "watcher", None)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)

    def encode_json(self, data: object) -> str:
        """orjson: a 20-tweet page serializes several times faster than with the json module.
        (A str, not bytes: WebSocket messages must go out as text frames.)"""
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        """orjson: faster, and refuses what JSON does not allow (NaN, lone surrogates)."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise json.JSONDecodeError(str(error), "", 0) from error


async def watch_token(websocket: WebSocket, context: Context) -> None:
    """Closes the connection (4401) when its token expires or is revoked: waits for the token's
    first check (at connection_init), then for its expiry or word of a revocation of the user's."""
    await context.standing_known.wait()
    claims = context.claims
    if claims is None:
        return
    relay = context.clients.relay
    listener = await relay.listen([context.clients.keys.live_tokens(claims.user_id)], subscription=False)
    try:
        while True:
            try:
                await asyncio.wait_for(listener.next(), timeout=max(0.0, claims.expires - time.time()))
            except TimeoutError:
                await close(websocket, "the token expired; log in again")
                return
            except UpdatesLost:
                listener = await relisten(context, listener, claims.user_id)
            if not await still_good(context, claims):
                context.settle("revoked")
                await close(websocket, "the token was revoked; log in again")
                return
    finally:
        await relay.leave(listener)


async def relisten(context: Context, listener: Listener, user_id: int) -> Listener:
    """A new listener in place of one that missed updates (the relay lost Redis), a second later."""
    await context.clients.relay.leave(listener)
    await asyncio.sleep(1)
    return await context.clients.relay.listen([context.clients.keys.live_tokens(user_id)], subscription=False)


async def close(websocket: WebSocket, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with suppress(RuntimeError):
            await websocket.close(code=TOKEN_CLOSED, reason=reason)
