"""Who-to-follow's types (resolvers/suggestions.py finds and ranks them)."""

from __future__ import annotations

import enum

import strawberry

from graph.records import Suggestion
from resolvers import suggestions
from schema.directives import ListSize
from schema.types import ContextInfo, User, load_user

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
    suggestion: strawberry.Private[Suggestion]

    @classmethod
    def of(cls, suggestion: Suggestion) -> FollowSuggestion:
        return cls(
            mutual_count=suggestion.mutual_count, reason=SuggestionReason[suggestion.reason], suggestion=suggestion
        )

    @strawberry.field
    async def user(self, info: ContextInfo) -> User:
        return await load_user(info, self.suggestion.user_id)

    @strawberry.field(
        description="A few accounts the viewer follows that follow this user (social proof).", directives=FIRST_ITEMS
    )
    async def followed_by(self, info: ContextInfo, first: int | None = 3) -> list[User]:
        user_ids = await suggestions.followed_by(info.context, self.suggestion, first)
        records = await info.context.users.load_batch(user_ids)
        return [User.of(records[user_id]) for user_id in user_ids if user_id in records]
