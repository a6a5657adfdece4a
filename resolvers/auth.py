"""Passwords (argon2id) and bearer tokens (signed JWTs with an expiry)."""

import asyncio
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import Unauthenticated
from settings import Settings


class Passwords:
    """argon2id hashing; each hash costs tens of milliseconds of CPU, so it runs off the event loop."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified when the handle is unknown, so that both failures take the same time.
        self._dummy_hash = self._hasher.hash("no such user")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)


@dataclass(frozen=True)
class Claims:
    """What a verified bearer token says."""

    user_id: int
    token_id: str  # revoked one by one by logOut
    generation: int  # the user's token generation when issued; a password change moves it on
    expires: int  # seconds since the epoch


def issue_token(settings: Settings, user_id: int, generation: int = 0) -> str:
    """A token for the user; `generation` is the user's current one (0 until a password change)."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + settings.jwt_ttl_seconds,
        "jti": secrets.token_urlsafe(12),
        "gen": generation,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def claims_of(settings: Settings, token: str) -> Claims:
    """The token's claims when this secret signed it and it has not expired; says nothing of revocation."""
    try:
        claims = verified_claims(settings.jwt_secret, token)
    except (jwt.InvalidTokenError, ValueError, TypeError) as error:
        raise Unauthenticated("the token is invalid or expired; log in again") from error
    if claims.expires <= time.time():
        raise Unauthenticated("the token is invalid or expired; log in again")
    return claims


@lru_cache(maxsize=4096)
def verified_claims(secret: str, token: str) -> Claims:
    """The claims of a token this secret signed; raises when it did not (a failure is not cached).
    Cached because verifying costs PyJWT about a tenth of a millisecond per request, and a token's
    signature cannot change; its expiry is checked on every use."""
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "jti", "gen"]})
    return Claims(
        user_id=int(claims["sub"]),
        token_id=str(claims["jti"]),
        generation=int(claims["gen"]),
        expires=int(claims["exp"]),
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an "Authorization: Bearer <token>" value; None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()
