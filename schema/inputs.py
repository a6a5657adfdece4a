"""The input types of the public API."""

import strawberry


@strawberry.input
class SignUpInput:
    handle: str
    display_name: str
    password: str


@strawberry.input
class LogInInput:
    handle: str
    password: str


@strawberry.input
class UpdateProfileInput:
    display_name: str | None = None
    bio: str | None = None
    avatar_media_id: strawberry.ID | None = None
    discoverable: bool | None = None


@strawberry.input
class CreateTweetInput:
    text: str
    media_ids: list[strawberry.ID] | None = strawberry.field(default_factory=list)
    in_reply_to_id: strawberry.ID | None = None
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retrying a create with the same key returns the first tweet, never a second one.",
    )


@strawberry.input
class EditTweetInput:
    id: strawberry.ID
    text: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str
