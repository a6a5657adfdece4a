"""Token revocation, kept on the user: the source of truth that feeds/tokens.py caches.

A user's tokens carry the user's token generation when issued; a password change moves it on,
which revokes every earlier token at once. A log-out revokes one token by its id, remembered
until that token would have expired anyway ("<expiry>:<token id>" strings, pruned on each write).
"""

from dataclasses import dataclass

from neo4j import AsyncDriver

from errors import Conflict

PRUNED = "[entry IN coalesce(u.revokedTokens, []) WHERE toInteger(split(entry, ':')[0]) > $now]"


@dataclass(frozen=True)
class TokenState:
    generation: int
    revoked: dict[str, int]  # token id -> its expiry (seconds since the epoch)


async def token_state(driver: AsyncDriver, user_id: int, now: int) -> TokenState | None:
    """None when there is no such user (a token outliving its user is revoked with it)."""
    records, _, _ = await driver.execute_query(
        f"""
        MATCH (u:User {{id: $id}})
        RETURN coalesce(u.tokenGeneration, 0) AS generation, {PRUNED} AS revoked
        """,
        id=user_id,
        now=now,
        routing_="r",
    )
    if not records:
        return None
    revoked = {}
    for entry in records[0]["revoked"]:
        expires, _, token_id = entry.partition(":")
        revoked[token_id] = int(expires)
    return TokenState(generation=records[0]["generation"], revoked=revoked)


async def revoke_token(driver: AsyncDriver, user_id: int, token_id: str, expires: int, now: int) -> None:
    await driver.execute_query(
        f"""
        MATCH (u:User {{id: $id}})
        SET u.revokedTokens = {PRUNED} + [$entry]
        """,
        id=user_id,
        entry=f"{expires}:{token_id}",
        now=now,
    )


async def change_password(driver: AsyncDriver, user_id: int, old_hash: str, new_hash: str) -> int:
    """Sets the new hash and moves the token generation on; returns the new generation. The hash
    the caller verified the current password against must still be the stored one: of two changes
    racing from the same password, the second is a Conflict."""
    records, _, _ = await driver.execute_query(
        """
        MATCH (u:User {id: $id})
        WHERE u.passwordHash = $oldHash
        SET u.passwordHash = $newHash, u.tokenGeneration = coalesce(u.tokenGeneration, 0) + 1
        RETURN u.tokenGeneration AS generation
        """,
        id=user_id,
        oldHash=old_hash,
        newHash=new_hash,
    )
    if not records:
        raise Conflict("the password changed meanwhile; log in again")
    generation: int = records[0]["generation"]
    return generation
