"""The one async Neo4j driver of a process."""

from neo4j import AsyncDriver, AsyncGraphDatabase
from neo4j.exceptions import ConnectionAcquisitionTimeoutError, ServiceUnavailable, SessionExpired, TransientError

from settings import Settings

POOL_WAIT_SECONDS = 10.0
# What Neo4j raises when it cannot serve now (out of reach, still starting, too busy, or a transient
# error the driver's retries did not outlast): the client may try again shortly.
UNAVAILABLE = (ServiceUnavailable, SessionExpired, TransientError, ConnectionAcquisitionTimeoutError)


def open_driver(settings: Settings) -> AsyncDriver:
    """Opens lazily: no connection is made until the first query. A Neo4j that is away fails a
    query within the service timeout: a connection attempt stops by then, and so do the driver's
    retries of a transaction. Those start after 0.2 s (not 1 s) and double, and stop once half the
    timeout has gone, since the pause before the last one can add as much again (0.2 + 0.4 + 0.8 s,
    with 20% jitter, for the default 2 s). Waiting for a pooled connection in a burst is load, not
    an outage: that wait is allowed longer."""
    timeout = settings.service_timeout_seconds
    return AsyncGraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_user, settings.neo4j_password),
        max_connection_pool_size=settings.neo4j_max_connections,
        connection_acquisition_timeout=max(POOL_WAIT_SECONDS, timeout),
        connection_timeout=timeout,
        max_transaction_retry_time=timeout / 2,
        initial_retry_delay=0.2,
        # Schema-less warnings (an unknown property before its first write) are noise here.
        notifications_min_severity="OFF",
    )


async def ping(driver: AsyncDriver) -> None:
    """Raises unless the server answers a query."""
    await driver.execute_query("RETURN 1")
