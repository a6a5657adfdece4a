"""The cost directives of IBM's GraphQL cost specification (as Apollo's demand control reads them),
so that schema.graphql tells clients what a query will cost; schema/cost.py computes it from them.

Without a directive, a field returning an object costs 1 and a scalar or enum nothing.
"""

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="What the field costs beyond its subselection (IBM's cost specification).",
)
class Cost:
    weight: str


@strawberry.schema_directive(
    name="listSize",
    locations=[Location.FIELD_DEFINITION],
    description="How many items the list holds: the value of a slicing argument, or an assumed size.",
)
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: list[str] | None = None
    sized_fields: list[str] | None = None
    require_one_slicing_argument: bool = True


# A Relay connection: its edges number `first` (or the argument's default).
CONNECTION = [ListSize(slicing_arguments=["first"], sized_fields=["edges"], require_one_slicing_argument=False)]
# A search: a connection, plus the index lookups and ranking before the first edge.
SEARCH = [*CONNECTION, Cost(weight="10")]
# Argon2 hashing: the dearest thing a request can ask for (and at most one per request).
PASSWORD_WORK = [Cost(weight="100")]
