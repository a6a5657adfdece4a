"""Passwords (argon2id) and bearer tokens (signed JWTs with an expiry)."""

import asyncio
import time

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import Unauthenticated
from settings import Settings

_hasher = PasswordHasher()  # argon2id, with the library's recommended parameters
# Verified when the handle is unknown, so that both failures take the same time.
_DUMMY_HASH = _hasher.hash("no such user")


async def hash_password(password: str) -> str:
    """Hashing costs tens of milliseconds of CPU: kept off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def issue_token(settings: Settings, user_id: int) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + settings.jwt_ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def user_id_from_token(settings: Settings, token: str) -> int:
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError) as error:
        raise Unauthenticated("the token is invalid or expired; log in again") from error


def bearer_token(authorization: str | None) -> str | None:
    """The token of an "Authorization: Bearer <token>" value; None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()
