"""Sign-up, log-in, log-out, password changes and profiles."""

import re
import time

from errors import BadInput, Unauthenticated
from feeds.outbox import Effects
from graph import tokens, users
from graph.records import UserRecord
from resolvers.admission import spend_failed_login, spend_sign_up, tokens_revoked
from resolvers.auth import issue_token
from resolvers.context import Context
from resolvers.media import check_avatar
from resolvers.outbox import always, relay_now
from resolvers.text import CONTROL

HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
MAX_DISPLAY_NAME = 50
MAX_BIO = 160
PASSWORD_LENGTHS = range(8, 257)


def check_display_name(display_name: str) -> str:
    name = display_name.strip()
    if not 1 <= len(name) <= MAX_DISPLAY_NAME:
        raise BadInput(f"a display name has 1 to {MAX_DISPLAY_NAME} characters")
    if CONTROL.search(name):
        raise BadInput("a display name cannot contain control characters")
    return name


def check_password(password: str) -> str:
    if len(password) not in PASSWORD_LENGTHS:
        raise BadInput(f"a password has {PASSWORD_LENGTHS.start} to {PASSWORD_LENGTHS.stop - 1} characters")
    return password


async def sign_up(ctx: Context, handle: str, display_name: str, password: str) -> tuple[str, UserRecord]:
    if not HANDLE.fullmatch(handle):
        raise BadInput("a handle has 1 to 15 letters, digits or underscores")
    name = check_display_name(display_name)
    check_password(password)
    await spend_sign_up(ctx)
    user = await users.create_user(
        ctx.neo4j,
        user_id=ctx.clients.ids.next_id(),
        handle=handle,
        display_name=name,
        password_hash=await ctx.clients.passwords.hash(password),
    )
    return issue_token(ctx.clients.settings, user.id), user


async def log_in(ctx: Context, handle: str, password: str) -> tuple[str, int]:
    """An unknown handle and a wrong password fail alike, in message and in time; each failure
    spends from the failed-login budgets of the handle and of the client's address."""
    valid = HANDLE.fullmatch(handle) is not None and len(password) < PASSWORD_LENGTHS.stop
    attempt = await spend_failed_login(ctx, handle if valid else "-")
    found = await users.credentials(ctx.neo4j, handle=handle) if valid else None
    if not await ctx.clients.passwords.verify(found.password_hash if found else None, password) or found is None:
        raise Unauthenticated("wrong handle or password")
    await attempt.refund(ctx)
    return issue_token(ctx.clients.settings, found.user_id, found.token_generation), found.user_id


async def log_out(ctx: Context) -> bool:
    """Revokes the token this request carries (others of the user stay good)."""
    claims = ctx.viewer_claims()
    await tokens.revoke_token(ctx.neo4j, claims.user_id, claims.token_id, claims.expires, int(time.time()))
    await tokens_revoked(ctx, claims.user_id, 0, {claims.token_id: claims.expires})
    return True


async def change_password(ctx: Context, current_password: str, new_password: str) -> tuple[str, int]:
    """Checks the current password (a wrong one counts as a failed log-in), then revokes every
    token issued before; returns a new token."""
    viewer_id = ctx.viewer()
    check_password(new_password)
    found = await users.credentials(ctx.neo4j, user_id=viewer_id)
    if found is None:
        raise Unauthenticated("this account no longer exists")
    attempt = await spend_failed_login(ctx, found.handle)
    if len(current_password) >= PASSWORD_LENGTHS.stop or not await ctx.clients.passwords.verify(
        found.password_hash, current_password
    ):
        raise Unauthenticated("the current password is wrong")
    await attempt.refund(ctx)
    new_hash = await ctx.clients.passwords.hash(new_password)
    generation = await tokens.change_password(ctx.neo4j, viewer_id, found.password_hash, new_hash)
    await tokens_revoked(ctx, viewer_id, generation, {})
    return issue_token(ctx.clients.settings, viewer_id, generation), viewer_id


async def update_profile(
    ctx: Context, display_name: str | None, bio: str | None, avatar_media_id: int | None, discoverable: bool | None
) -> int:
    viewer_id = ctx.viewer()
    if bio is not None and len(bio) > MAX_BIO:
        raise BadInput(f"a bio has at most {MAX_BIO} characters")
    if bio is not None and CONTROL.search(bio):
        raise BadInput("a bio cannot contain control characters")
    if avatar_media_id is not None:
        await check_avatar(ctx, avatar_media_id)
    recorded = await users.update_profile(
        ctx.neo4j,
        viewer_id,
        display_name=None if display_name is None else check_display_name(display_name),
        bio=bio,
        avatar_media_id=avatar_media_id,
        discoverable=discoverable,
        after=always(ctx, Effects("changed", users=[viewer_id])),
    )
    await relay_now(ctx, recorded)
    return viewer_id


async def user_id_by_handle(ctx: Context, handle: str) -> int | None:
    return await users.user_id_by_handle(ctx.neo4j, handle) if HANDLE.fullmatch(handle) else None
