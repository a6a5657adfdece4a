"""Bearer tokens: verified signatures are cached, expiry is checked on every use."""

import time

import jwt
import pytest

from errors import Unauthenticated
from resolvers import auth
from tests.conftest import isolated_settings


def test_a_token_works_until_it_expires_even_once_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = isolated_settings(jwt_ttl_seconds=60)
    token = auth.issue_token(settings, 42, generation=3)
    assert auth.claims_of(settings, token).user_id == 42
    claims = auth.claims_of(settings, token)  # from the cache
    assert (claims.user_id, claims.generation) == (42, 3)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        auth.claims_of(settings, token)


def test_an_expired_token_is_refused() -> None:
    settings = isolated_settings()
    claims = {"sub": "42", "iat": int(time.time()) - 120, "exp": int(time.time()) - 60, "jti": "a", "gen": 0}
    with pytest.raises(Unauthenticated):
        auth.claims_of(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


def test_a_token_without_an_id_or_a_generation_is_refused() -> None:
    settings = isolated_settings()
    now = int(time.time())
    for missing in ("jti", "gen"):
        claims = {"sub": "42", "iat": now, "exp": now + 60, "jti": "a", "gen": 0}
        del claims[missing]
        with pytest.raises(Unauthenticated):
            auth.claims_of(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


def test_each_token_has_its_own_id() -> None:
    settings = isolated_settings()
    first, second = (auth.claims_of(settings, auth.issue_token(settings, 42)) for _ in range(2))
    assert first.token_id != second.token_id


def test_a_token_signed_with_another_secret_is_refused_after_the_right_one_was_cached() -> None:
    settings = isolated_settings()
    token = auth.issue_token(settings, 42)
    assert auth.claims_of(settings, token).user_id == 42
    other = isolated_settings(jwt_secret="another-secret-another-secret-another-secret")
    with pytest.raises(Unauthenticated):
        auth.claims_of(other, token)
