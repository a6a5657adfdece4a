"""The Strawberry schema of the public API."""

import strawberry


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated user; null when anonymous.")
    def viewer(self) -> None:
        return None


schema = strawberry.Schema(query=Query)
