"""Everything Neo4j: the driver, migrations and the Cypher for each concept."""
