"""Which failures mean that a service Chirp needs cannot serve now (SERVICE_UNAVAILABLE: the client
may try again shortly), as opposed to a bug (INTERNAL_SERVER_ERROR)."""

from feeds.client import UNAVAILABLE as REDIS_UNAVAILABLE
from graph.driver import UNAVAILABLE as NEO4J_UNAVAILABLE

# MinIO's failures are turned into ServiceUnavailable where its calls are made (media/client.py);
# TimeoutError is a wait on any service cut short by the service timeout.
UNAVAILABLE: tuple[type[BaseException], ...] = (*NEO4J_UNAVAILABLE, *REDIS_UNAVAILABLE, TimeoutError)
UNAVAILABLE_MESSAGE = "a service Chirp needs is unavailable; try again shortly"
