"""Objects owned by a user, made through the API as a client would: what tests/test_authorization.py
aims at another user, and what tests/test_fuzz.py draws its ids from.

Each object type an ID argument may name has a maker here; a type without one fails the tests
that need it, naming the type, rather than going untested.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import media.client
from settings import Settings
from tests.conftest import Account, Api, drain
from tests.test_media import START, post_form, small_png, uploaded

NOTIFICATIONS = "query { notifications(first: 1) { edges { node { id } } } }"
# Reads any object back as its owner sees it (node answers null for a notification to anyone else).
NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Tweet { text editedAt likeCount retweetCount replyCount media { id } }
    ... on Media { kind url altText }
    ... on Notification { read }
    ... on User { displayName bio avatar { id } followerCount followingCount tweetCount }
  }
}
"""


class Owned:
    """Makes objects owned by users, and reads them back."""

    def __init__(self, api: Api, settings: Settings) -> None:
        self.api = api
        self.settings = settings
        self.incoming: dict[str, str] = {}  # upload id -> where its file waits in the bucket
        self.makers: dict[str, Callable[[Account], Awaitable[str]]] = {
            "User": self.user,
            "Tweet": self.tweet,
            "Media": self.media,
            "MediaUpload": self.media_upload,
            "Notification": self.notification,
        }

    async def make(self, type_name: str, owner: Account) -> str:
        """The id of a new object of this type owned by owner."""
        maker = self.makers.get(type_name)
        assert maker is not None, f"no maker for a {type_name} owned by a user: add one to tests/owned.py"
        return await maker(owner)

    async def user(self, owner: Account) -> str:
        return owner.id

    async def tweet(self, owner: Account) -> str:
        return self.api.tweet(owner, "a tweet of its author's own")

    async def media(self, owner: Account) -> str:
        media_id: str = uploaded(self.api, owner, small_png(), "owned.png", "image/png")["id"]
        return media_id

    async def media_upload(self, owner: Account) -> str:
        """A presigned upload whose file is there, waiting for its owner to complete it."""
        ticket = self.api.data(START, token=owner.token)["createMediaUpload"]
        assert post_form(ticket, small_png()).status_code == 204
        upload_id: str = ticket["uploadId"]
        self.incoming[upload_id] = next(field["value"] for field in ticket["fields"] if field["name"] == "key")
        return upload_id

    async def notification(self, owner: Account) -> str:
        """A FOLLOW notification: a new user follows the owner, and the fan-out worker notifies."""
        self.api.follow(self.api.sign_up(), owner)
        await asyncio.to_thread(drain, self.settings)
        (edge,) = self.api.data(NOTIFICATIONS, token=owner.token)["notifications"]["edges"]
        notification_id: str = edge["node"]["id"]
        return notification_id

    def read_back(self, type_name: str, object_id: str, owner: Account) -> Any:
        """The object as its owner sees it; for an upload, its waiting file's ETag (None once gone)."""
        if type_name != "MediaUpload":
            return self.api.data(NODE, {"id": object_id}, owner.token)["node"]
        found = media.client.open_minio(self.settings).list_objects(
            self.settings.media_bucket, self.incoming[object_id]
        )
        return [entry.etag for entry in found]
