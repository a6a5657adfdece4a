"""Who-to-follow's types (resolvers/suggestions.py finds and ranks them)."""

from __future__ import annotations

import enum
from collections.abc import Awaitable

import strawberry

from resolvers import suggestions
from schema.directives import ListSize
from schema.types import ContextInfo, User

# A list of `first` items (the argument's default when absent).
FIRST_ITEMS = [ListSize(slicing_arguments=["first"], require_one_slicing_argument=False)]


@strawberry.enum
class SuggestionReason(enum.Enum):
    FOLLOWED_BY_FOLLOWS = strawberry.enum_value(
        "FOLLOWED_BY_FOLLOWS", description="Followed by accounts the viewer follows."
    )
    FOLLOWS_YOU = strawberry.enum_value("FOLLOWS_YOU", description="Follows the viewer, who does not follow back.")
    SHARED_INTERESTS = strawberry.enum_value(
        "SHARED_INTERESTS", description="Posts about the hashtags the viewer uses."
    )
    POPULAR = strawberry.enum_value("POPULAR", description="Popular and recently active (cold start).")


@strawberry.type
class FollowSuggestion:
    mutual_count: int = strawberry.field(
        description="How many of the accounts the viewer follows already follow this user."
    )
    reason: SuggestionReason
    user: User
    shown: strawberry.Private[suggestions.ShownSuggestion]

    @classmethod
    def of(cls, shown: suggestions.ShownSuggestion) -> FollowSuggestion:
        """The user is built with the suggestion: whoToFollow loaded every record it shows."""
        return cls(
            mutual_count=shown.suggestion.mutual_count,
            reason=SuggestionReason[shown.suggestion.reason],
            user=User.of(shown.user),
            shown=shown,
        )

    @strawberry.field(
        graphql_type=list[User],
        description="A few accounts the viewer follows that follow this user (social proof).",
        directives=FIRST_ITEMS,
    )
    def followed_by(self, info: ContextInfo, first: int | None = 3) -> list[User] | Awaitable[list[User]]:
        """A plain list when the cached few answer `first`: graphql-core awaits only what is
        awaitable. With `user` and this field each awaited per suggestion, a cached
        whoToFollow(first: 10) took 4.7 ms of CPU in process; with neither, 3.0 (floor 0.9)."""
        size = suggestions.proof_size(info.context, first)
        known = suggestions.known_followers(self.shown, size)
        if known is not None:
            return [User.of(record) for record in known]
        return self.followers_in_graph(info, size)

    async def followers_in_graph(self, info: ContextInfo, size: int) -> list[User]:
        return [User.of(record) for record in await suggestions.followers_in_graph(info.context, self.shown, size)]
