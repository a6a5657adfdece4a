"""Sign-up, log-in and profiles."""

import re

from errors import BadInput, Unauthenticated
from graph import users
from graph.records import UserRecord
from resolvers.auth import issue_token
from resolvers.context import Context
from resolvers.hydration import forget_users
from resolvers.media import check_avatar

HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
MAX_DISPLAY_NAME = 50
MAX_BIO = 160
PASSWORD_LENGTHS = range(8, 257)


def check_display_name(display_name: str) -> str:
    name = display_name.strip()
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise BadInput(f"a display name has 1 to {MAX_DISPLAY_NAME} characters")
    return name


async def sign_up(ctx: Context, handle: str, display_name: str, password: str) -> tuple[str, UserRecord]:
    if not HANDLE.fullmatch(handle):
        raise BadInput("a handle has 1 to 15 letters, digits or underscores")
    name = check_display_name(display_name)
    if len(password) not in PASSWORD_LENGTHS:
        raise BadInput(f"a password has {PASSWORD_LENGTHS.start} to {PASSWORD_LENGTHS.stop - 1} characters")
    user = await users.create_user(
        ctx.neo4j,
        user_id=ctx.clients.ids.next_id(),
        handle=handle,
        display_name=name,
        password_hash=await ctx.clients.passwords.hash(password),
    )
    return issue_token(ctx.clients.settings, user.id), user


async def log_in(ctx: Context, handle: str, password: str) -> tuple[str, int]:
    """An unknown handle and a wrong password fail alike, in message and in time."""
    found = await users.credentials_by_handle(ctx.neo4j, handle) if HANDLE.fullmatch(handle) else None
    user_id, password_hash = found if found else (None, None)
    if not await ctx.clients.passwords.verify(password_hash, password) or user_id is None:
        raise Unauthenticated("wrong handle or password")
    return issue_token(ctx.clients.settings, user_id), user_id


async def update_profile(ctx: Context, display_name: str | None, bio: str | None, avatar_media_id: int | None) -> int:
    viewer_id = ctx.viewer()
    if bio is not None and len(bio) > MAX_BIO:
        raise BadInput(f"a bio has at most {MAX_BIO} characters")
    if avatar_media_id is not None:
        await check_avatar(ctx, avatar_media_id)
    await users.update_profile(
        ctx.neo4j,
        viewer_id,
        display_name=None if display_name is None else check_display_name(display_name),
        bio=bio,
        avatar_media_id=avatar_media_id,
    )
    await forget_users(ctx.clients, [viewer_id])
    return viewer_id


async def user_id_by_handle(ctx: Context, handle: str) -> int | None:
    return await users.user_id_by_handle(ctx.neo4j, handle) if HANDLE.fullmatch(handle) else None
