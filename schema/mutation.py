"""The Mutation root: each checks who asks, validates, writes, and returns what changed."""

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from errors import BadInput
from resolvers import accounts, follows, notifications, suggestions, tweets
from resolvers import media as media_resolvers
from resolvers.ids import from_global_id, to_global_id
from schema.directives import PASSWORD_WORK
from schema.inputs import (
    ChangePasswordInput,
    CreateTweetInput,
    EditTweetInput,
    LogInInput,
    SignUpInput,
    UpdateProfileInput,
)
from schema.types import (
    AuthPayload,
    ContextInfo,
    DeletePayload,
    FormField,
    Media,
    MediaUpload,
    Tweet,
    User,
    load_tweet,
    load_user,
    media_of,
)


@strawberry.type
class Mutation:
    @strawberry.mutation(directives=PASSWORD_WORK)
    async def sign_up(self, info: ContextInfo, input: SignUpInput) -> AuthPayload:
        token, user = await accounts.sign_up(info.context, input.handle, input.display_name, input.password)
        return AuthPayload(token=token, user=User.of(user))

    @strawberry.mutation(directives=PASSWORD_WORK)
    async def log_in(self, info: ContextInfo, input: LogInInput) -> AuthPayload:
        token, user_id = await accounts.log_in(info.context, input.handle, input.password)
        return AuthPayload(token=token, user=await load_user(info, user_id))

    @strawberry.mutation(description="Revokes the token this request carries.")
    async def log_out(self, info: ContextInfo) -> bool:
        return await accounts.log_out(info.context)

    @strawberry.mutation(
        description="Revokes every earlier token of the viewer and returns a new one.", directives=PASSWORD_WORK
    )
    async def change_password(self, info: ContextInfo, input: ChangePasswordInput) -> AuthPayload:
        token, user_id = await accounts.change_password(info.context, input.current_password, input.new_password)
        return AuthPayload(token=token, user=await load_user(info, user_id))

    @strawberry.mutation
    async def update_profile(self, info: ContextInfo, input: UpdateProfileInput) -> User:
        avatar = None if input.avatar_media_id is None else from_global_id(input.avatar_media_id, "Media")
        user_id = await accounts.update_profile(info.context, input.display_name, input.bio, avatar, input.discoverable)
        return await load_user(info, user_id)

    @strawberry.mutation
    async def follow(self, info: ContextInfo, user_id: strawberry.ID) -> User:
        return await load_user(info, await follows.follow(info.context, from_global_id(user_id, "User")))

    @strawberry.mutation
    async def unfollow(self, info: ContextInfo, user_id: strawberry.ID) -> User:
        return await load_user(info, await follows.unfollow(info.context, from_global_id(user_id, "User")))

    @strawberry.mutation
    async def create_tweet(self, info: ContextInfo, input: CreateTweetInput) -> Tweet:
        info.context.viewer()
        reply_to = None if input.in_reply_to_id is None else from_global_id(input.in_reply_to_id, "Tweet")
        media_ids = [from_global_id(media_id, "Media") for media_id in input.media_ids or []]
        tweet_id = await tweets.create_tweet(info.context, input.text, reply_to, input.idempotency_key, media_ids)
        return await load_tweet(info, tweet_id)

    @strawberry.mutation
    async def edit_tweet(self, info: ContextInfo, input: EditTweetInput) -> Tweet:
        tweet_id = await tweets.edit_tweet(info.context, from_global_id(input.id, "Tweet"), input.text)
        return await load_tweet(info, tweet_id)

    @strawberry.mutation
    async def delete_tweet(self, info: ContextInfo, id: strawberry.ID) -> DeletePayload:
        deleted = await tweets.delete_tweet(info.context, from_global_id(id, "Tweet"))
        return DeletePayload(id=strawberry.ID(to_global_id("Tweet", deleted)), deleted=True)

    @strawberry.mutation
    async def like(self, info: ContextInfo, tweet_id: strawberry.ID) -> Tweet:
        return await load_tweet(info, await tweets.like(info.context, from_global_id(tweet_id, "Tweet")))

    @strawberry.mutation
    async def unlike(self, info: ContextInfo, tweet_id: strawberry.ID) -> Tweet:
        return await load_tweet(info, await tweets.unlike(info.context, from_global_id(tweet_id, "Tweet")))

    @strawberry.mutation
    async def retweet(self, info: ContextInfo, tweet_id: strawberry.ID) -> Tweet:
        return await load_tweet(info, await tweets.retweet(info.context, from_global_id(tweet_id, "Tweet")))

    @strawberry.mutation
    async def undo_retweet(self, info: ContextInfo, tweet_id: strawberry.ID) -> Tweet:
        return await load_tweet(info, await tweets.undo_retweet(info.context, from_global_id(tweet_id, "Tweet")))

    @strawberry.mutation(description="One file, sent in this request (the GraphQL multipart request spec).")
    async def upload_media(self, info: ContextInfo, file: Upload, alt_text: str | None = None) -> Media:
        # Starlette hands the part over as an UploadFile, spooled to disk past 1 MB; anything else
        # (a string in a JSON body) is no file.
        if not isinstance(file, UploadFile):
            raise BadInput("send the file in a multipart request (the GraphQL multipart request spec)")
        source = file.file
        return await media_by_id(info, await media_resolvers.upload_media(info.context, source, alt_text))

    @strawberry.mutation(description="A presigned form to upload a file too large for one request.")
    async def create_media_upload(self, info: ContextInfo) -> MediaUpload:
        ticket = await media_resolvers.create_media_upload(info.context)
        return MediaUpload(
            upload_id=strawberry.ID(to_global_id("MediaUpload", ticket.upload_id)),
            url=ticket.form.url,
            fields=[FormField(name=name, value=value) for name, value in ticket.form.fields.items()],
            expires_at=ticket.expires_at,
            max_byte_size=ticket.max_byte_size,
        )

    @strawberry.mutation(
        description="Checks what was PUT to a createMediaUpload URL; the media can be used once this answers."
    )
    async def complete_media_upload(
        self, info: ContextInfo, upload_id: strawberry.ID, alt_text: str | None = None
    ) -> Media:
        upload = from_global_id(upload_id, "MediaUpload")
        return await media_by_id(info, await media_resolvers.complete_media_upload(info.context, upload, alt_text))

    @strawberry.mutation(
        description="Marks the viewer's notifications read up to this one (all when null); returns how many."
    )
    async def mark_notifications_read(self, info: ContextInfo, up_to_id: strawberry.ID | None = None) -> int:
        up_to = None if up_to_id is None else from_global_id(up_to_id, "Notification")
        return await notifications.mark_read(info.context, up_to)

    @strawberry.mutation(description="Never suggest this user again (for 180 days); true once done.")
    async def dismiss_suggestion(self, info: ContextInfo, user_id: strawberry.ID) -> bool:
        return await suggestions.dismiss(info.context, from_global_id(user_id, "User"))

    @strawberry.mutation(description="Takes back a dismissal: the user may be suggested again.")
    async def undo_dismiss_suggestion(self, info: ContextInfo, user_id: strawberry.ID) -> bool:
        return await suggestions.undo_dismiss(info.context, from_global_id(user_id, "User"))


async def media_by_id(info: ContextInfo, media_id: int) -> Media:
    (media,) = await media_of(info, [media_id])
    return media
