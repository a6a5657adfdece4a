"""Which failures mean that a service Chirp needs is away (SERVICE_UNAVAILABLE: the client may try
again shortly), as opposed to a bug (INTERNAL_SERVER_ERROR)."""

from feeds.client import UNREACHABLE as REDIS_UNREACHABLE
from graph.driver import UNREACHABLE as NEO4J_UNREACHABLE

# MinIO's failures are turned into ServiceUnavailable where its calls are made (media/client.py);
# TimeoutError is a wait on any service cut short by the service timeout.
UNREACHABLE: tuple[type[BaseException], ...] = (*NEO4J_UNREACHABLE, *REDIS_UNREACHABLE, TimeoutError)
UNAVAILABLE_MESSAGE = "a service Chirp needs is unavailable; try again shortly"
