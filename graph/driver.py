"""The one async Neo4j driver of a process."""

from neo4j import AsyncDriver, AsyncGraphDatabase

from settings import Settings


def open_driver(settings: Settings) -> AsyncDriver:
    """Opens lazily: no connection is made until the first query."""
    return AsyncGraphDatabase.driver(
        settings.neo4j_uri,
        auth=(settings.neo4j_user, settings.neo4j_password),
        connection_acquisition_timeout=10.0,
        connection_timeout=5.0,
        # Schema-less warnings (an unknown property before its first write) are noise here.
        notifications_min_severity="OFF",
    )


async def ping(driver: AsyncDriver) -> None:
    """Raises unless the server answers a query."""
    await driver.execute_query("RETURN 1")
