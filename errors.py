"""Domain errors, raised by any layer and turned into the contract's extensions.code at the schema edge."""


class ChirpError(Exception):
    """An error whose message is safe to show to the client."""

    code = "INTERNAL_SERVER_ERROR"


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
