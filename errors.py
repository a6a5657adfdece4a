"""Domain errors, raised by any layer and turned into the contract's extensions.code at the schema edge."""

import math


class ChirpError(Exception):
    """An error whose message is safe to show to the client, with what else the client may read
    (extensions beside the code)."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: object) -> None:
        super().__init__(message)
        self.extensions = extensions


class Unauthenticated(ChirpError):
    code = "UNAUTHENTICATED"


class Forbidden(ChirpError):
    code = "FORBIDDEN"


class NotFound(ChirpError):
    code = "NOT_FOUND"


class BadInput(ChirpError):
    code = "BAD_USER_INPUT"


class Conflict(ChirpError):
    code = "CONFLICT"


class ServiceUnavailable(ChirpError):
    code = "SERVICE_UNAVAILABLE"


class QueryTooComplex(ChirpError):
    """A limit on the query itself (cost, depth, aliases...): the extensions name it and its maximum."""

    code = "QUERY_TOO_COMPLEX"


class RateLimited(ChirpError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, retryAfter=self.retry_after)
