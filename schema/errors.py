"""Every error leaves with one of the contract's extensions.code values, and nothing else leaks.

- A domain error (errors.ChirpError) keeps its message and gets its code, with its own extensions
  (retryAfter, cost and maxCost, ...).
- An error outside any resolver (syntax, validation, variable coercion) is the client's: BAD_USER_INPUT.
- Neo4j or Redis unable to serve now (out of reach, too busy, a wait cut short) is SERVICE_UNAVAILABLE.
- Anything else is masked as INTERNAL_SERVER_ERROR and logged here with the request id, which
  the client also gets, so that a report can be matched with the log.
"""

import logging
from collections.abc import Mapping

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from errors import ChirpError
from resolvers.faults import UNAVAILABLE, UNAVAILABLE_MESSAGE

logger = logging.getLogger("chirp.errors")

CONTRACT_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "RATE_LIMITED",
        "QUERY_TOO_COMPLEX",
        "SERVICE_UNAVAILABLE",
        "INTERNAL_SERVER_ERROR",
    }
)


def with_code(
    error: GraphQLError, code: str, message: str | None = None, extra: Mapping[str, object] | None = None
) -> GraphQLError:
    return GraphQLError(
        message=error.message if message is None else message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **(extra or {})},
    )


class ContractErrors(MaskErrors):
    def _process_result(self, result: object) -> None:
        """Strawberry's, without its isinstance check against a runtime-checkable Protocol, which
        costs about 50 microseconds a request."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self.shape(error) for error in errors]

    def shape(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ChirpError):
            return with_code(error, original.code, extra=original.extensions)
        if (error.extensions or {}).get("code") in CONTRACT_CODES:
            return error
        if error.path is None:
            return with_code(error, "BAD_USER_INPUT")
        request_id = getattr(self.execution_context.context, "request_id", "-")
        if isinstance(original, UNAVAILABLE):
            logger.warning("request %s: a service is unavailable at %s: %r", request_id, error.path, original)
            return with_code(error, "SERVICE_UNAVAILABLE", UNAVAILABLE_MESSAGE)
        logger.error("request %s: unexpected error at %s", request_id, error.path, exc_info=original or error)
        return with_code(error, "INTERNAL_SERVER_ERROR", "Internal server error", {"requestId": request_id})
