"""Bearer tokens: verified signatures are cached, expiry is checked on every use."""

import time

import jwt
import pytest

from errors import Unauthenticated
from resolvers import auth
from tests.conftest import isolated_settings


def test_a_token_works_until_it_expires_even_once_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = isolated_settings(jwt_ttl_seconds=60)
    token = auth.issue_token(settings, 42)
    assert auth.user_id_from_token(settings, token) == 42
    assert auth.user_id_from_token(settings, token) == 42  # from the cache
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        auth.user_id_from_token(settings, token)


def test_an_expired_token_is_refused() -> None:
    settings = isolated_settings()
    claims = {"sub": "42", "iat": int(time.time()) - 120, "exp": int(time.time()) - 60}
    with pytest.raises(Unauthenticated):
        auth.user_id_from_token(settings, jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))


def test_a_token_signed_with_another_secret_is_refused_after_the_right_one_was_cached() -> None:
    settings = isolated_settings()
    token = auth.issue_token(settings, 42)
    assert auth.user_id_from_token(settings, token) == 42
    other = isolated_settings(jwt_secret="another-secret-another-secret-another-secret")
    with pytest.raises(Unauthenticated):
        auth.user_id_from_token(other, token)
