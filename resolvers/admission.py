"""Admitting a request, and the budgets of single actions (feeds/budgets.py holds the GCRA).

Before any resolver runs, admit() checks that the bearer token was not revoked and spends the
request's points from the viewer's budget (the client IP's when anonymous), in one Redis call.

When Redis is down, requests and ordinary actions go on without limits (fail open: Neo4j is the
source of truth and reads or posts need no budget to be correct), and the token's standing is read
from Neo4j instead. Credential operations (sign-ups and log-ins) fail closed instead: their budgets
are what stops password guessing, so they wait for Redis.
"""

import enum
import logging
import time
from dataclasses import dataclass

from redis.exceptions import RedisError

from errors import RateLimited, ServiceUnavailable, Unauthenticated
from feeds import budgets, live, tokens
from feeds.budgets import Admitted, Charge, TokenNotCached, TokenRevoked
from feeds.keys import user_tag
from graph import tokens as graph_tokens
from resolvers.auth import Claims
from resolvers.context import Context
from settings import Budget

logger = logging.getLogger("chirp.admission")


class Action(enum.Enum):
    """A write with a budget of its own, per viewer; the value names its setting."""

    TWEET = "budget_tweets"
    FOLLOW = "budget_follows"
    LIKE = "budget_likes"
    UPLOAD = "budget_uploads"
    UPLOAD_TICKET = "budget_upload_tickets"

    def budget(self, ctx: Context) -> Budget:
        budget: Budget = getattr(ctx.clients.settings, self.value)
        return budget


def ip_tag(ctx: Context) -> str:
    return f"ip:{ctx.client_ip}"


def points_of(cost: int) -> int:
    """What a request spends from its budget, as GitHub counts it: a point per hundred of cost, at least one."""
    return max(1, -(-cost // 100))


async def admit(ctx: Context, points: int) -> Admitted:
    """Checks the token's standing and spends the request's points, in one Redis call. A revoked
    token leaves the request anonymous as far as budgets go (its resolvers refuse the token)."""
    settings = ctx.clients.settings
    claims = token_claims(ctx)
    if claims is not None:
        budget = settings.budget_viewer
        try:
            charge = await spend_as_user(ctx, claims, points if settings.rate_limits else 0)
            ctx.settle("good")
            return Admitted("user", budget, points, charge if settings.rate_limits else Charge.unlimited(budget))
        except TokenRevoked:
            ctx.settle("revoked")
        except RedisError:
            logger.warning("Redis is down: request admitted without limits", exc_info=True)
            ctx.settle("revoked" if await revoked_in_neo4j(ctx, claims) else "good")
            return Admitted("user", budget, points, Charge.unlimited(budget))
    budget = settings.budget_anonymous
    if not settings.rate_limits:
        return Admitted("ip", budget, points, Charge.unlimited(budget))
    key = ctx.clients.keys.budget(ip_tag(ctx), "points")
    try:
        return Admitted("ip", budget, points, await budgets.spend(ctx.clients.redis, key, budget, points))
    except RedisError:
        logger.warning("Redis is down: request admitted without limits", exc_info=True)
        return Admitted("ip", budget, points, Charge.unlimited(budget))


async def still_good(ctx: Context, claims: Claims) -> bool:
    """Whether the token is still in good standing (for a connection that outlives its check)."""
    try:
        await spend_as_user(ctx, claims, 0)
    except TokenRevoked:
        return False
    except RedisError:
        return not await revoked_in_neo4j(ctx, claims)
    return True


def token_claims(ctx: Context) -> Claims | None:
    """The token's claims; None when anonymous or when the token is bad (its resolvers say so)."""
    try:
        return ctx.claims
    except Unauthenticated:  # raised again where a resolver asks for the viewer
        return None


async def spend_as_user(ctx: Context, claims: Claims, points: int) -> Charge:
    keys, settings = ctx.clients.keys, ctx.clients.settings
    key = keys.budget(user_tag(claims.user_id), "points")
    token = (keys.token_state(claims.user_id), claims.token_id, claims.generation)
    try:
        return await budgets.spend(ctx.clients.redis, key, settings.budget_viewer, points, token=token)
    except TokenNotCached:
        await cache_token_state(ctx, claims.user_id)
        return await budgets.spend(ctx.clients.redis, key, settings.budget_viewer, points, token=token)


async def cache_token_state(ctx: Context, user_id: int) -> None:
    state = await graph_tokens.token_state(ctx.neo4j, user_id, int(time.time()))
    # A user deleted since their token was issued: no generation will ever match.
    generation, revoked = (state.generation, state.revoked) if state is not None else (2**62, {})
    ttl = ctx.clients.settings.auth_cache_seconds
    await tokens.merge(
        ctx.clients.redis, ctx.clients.keys.token_state(user_id), generation, revoked, ttl, complete=True
    )


async def revoked_in_neo4j(ctx: Context, claims: Claims) -> bool:
    state = await graph_tokens.token_state(ctx.neo4j, claims.user_id, int(time.time()))
    return state is None or claims.generation < state.generation or claims.token_id in state.revoked


async def tokens_revoked(ctx: Context, user_id: int, generation: int, revoked: dict[str, int]) -> None:
    """After Neo4j committed a revocation: into the cache, and to the user's open subscriptions.
    A Redis failure here is logged, not raised: the write is done, and the cached state expires
    within auth_cache_seconds."""
    redis, keys = ctx.clients.redis, ctx.clients.keys
    try:
        ttl = ctx.clients.settings.auth_cache_seconds
        await tokens.merge(redis, keys.token_state(user_id), generation, revoked, ttl, complete=False)
        await live.publish(redis, [keys.live_tokens(user_id)], "{}")
    except RedisError:
        logger.error("token revocation of user %s not cached; it takes effect when the cache expires", user_id)


async def spend_action(ctx: Context, action: Action) -> None:
    """One unit of the viewer's budget for this action (UNAUTHENTICATED without a viewer, even
    with rate limits off); RATE_LIMITED when it is spent."""
    viewer_id = ctx.viewer()
    settings = ctx.clients.settings
    if not settings.rate_limits:
        return
    key = ctx.clients.keys.budget(user_tag(viewer_id), action.name.lower())
    try:
        charge = await budgets.spend(ctx.clients.redis, key, action.budget(ctx), 1)
    except RedisError:
        logger.warning("Redis is down: %s allowed without its budget", action.name, exc_info=True)
        return
    refuse_if_spent(charge, action.name.lower().replace("_", " ") + "s")


def refuse_if_spent(charge: Charge, what: str) -> None:
    if not charge.allowed:
        raise RateLimited(f"too many {what} for now; try again in {round(charge.retry_after)} s", charge.retry_after)


@dataclass(frozen=True)
class CredentialBudgets:
    """Budgets spent before a password is checked, given back if it was right: only failures count."""

    keys: tuple[tuple[str, Budget], ...]

    async def refund(self, ctx: Context) -> None:
        """Best effort: the password was right, and a lost refund costs its owner one attempt."""
        for key, budget in self.keys:
            try:
                await budgets.spend(ctx.clients.redis, key, budget, -1)
            except RedisError:
                logger.warning("a failed-login budget was not given back", exc_info=True)


async def credential_spend(ctx: Context, key: str, budget: Budget, cost: int) -> Charge:
    try:
        return await budgets.spend(ctx.clients.redis, key, budget, cost)
    except RedisError as error:
        logger.error("Redis is down: credential operations are refused until it is back", exc_info=True)
        raise ServiceUnavailable("log-ins and sign-ups are paused for a moment; try again shortly") from error


async def spend_failed_login(ctx: Context, handle: str) -> CredentialBudgets:
    """A failed-login unit for this handle from this IP, and one for the IP whatever the handle.
    Keyed by IP, so that a stranger guessing a password never locks its owner out elsewhere."""
    settings, keys = ctx.clients.settings, ctx.clients.keys
    if not settings.rate_limits:
        return CredentialBudgets(())
    spent = (
        (keys.budget(f"login:{handle.lower()}:{ctx.client_ip}", "failed-logins"), settings.budget_failed_logins),
        (keys.budget(ip_tag(ctx), "failed-logins"), settings.budget_failed_logins_ip),
    )
    charges = [(await credential_spend(ctx, key, budget, 1), key, budget) for key, budget in spent]
    refused = [charge for charge, _, _ in charges if not charge.allowed]
    for charge, key, budget in charges:
        if charge.allowed and refused:  # nothing is spent on a refused attempt
            await credential_spend(ctx, key, budget, -1)
    if refused:
        retry_after = max(charge.retry_after for charge in refused)
        raise RateLimited(f"too many failed log-ins; try again in {round(retry_after)} s", retry_after)
    return CredentialBudgets(tuple(spent))


async def spend_sign_up(ctx: Context) -> None:
    settings = ctx.clients.settings
    if settings.rate_limits:
        key = ctx.clients.keys.budget(ip_tag(ctx), "sign-ups")
        refuse_if_spent(await credential_spend(ctx, key, settings.budget_sign_ups, 1), "sign-ups from this address")
