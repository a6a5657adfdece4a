"""Persisted queries: Apollo's APQ protocol round trip (by POST and by GET), its bounded store,
and the trusted-documents mode that runs nothing else."""

import asyncio
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from tests.conftest import Api

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(hash_: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


def post(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def get(api: Api, hash_: str, variables: dict[str, Any] | None = None) -> Any:
    params = {"extensions": json.dumps(persisted(hash_)), "variables": json.dumps(variables or {})}
    return api.client.get("/graphql", params=params, headers={"Accept": "application/json"})


def code(body: dict[str, Any]) -> str:
    (error,) = body["errors"]
    found: str = error["extensions"]["code"]
    return found


def test_the_apq_round_trip(api: Api) -> None:
    account = api.sign_up()
    query = f"query Whose_{uuid.uuid4().hex}($h: String!) {{ user(handle: $h) {{ handle }} }}"
    hash_ = sha256(query)
    variables = {"h": account.handle}
    missing = post(api, {"extensions": persisted(hash_), "variables": variables})
    assert code(missing) == NOT_FOUND
    assert missing["errors"][0]["message"] == "PersistedQueryNotFound"  # what Apollo's clients look for
    registered = post(api, {"query": query, "extensions": persisted(hash_), "variables": variables})
    assert registered["data"] == {"user": {"handle": account.handle}}
    by_hash = post(api, {"extensions": persisted(hash_), "variables": variables})
    assert by_hash["data"] == {"user": {"handle": account.handle}}
    by_get = get(api, hash_, variables)
    assert by_get.status_code == 200
    assert by_get.json()["data"] == {"user": {"handle": account.handle}}


def test_a_hash_that_does_not_match_its_text_is_refused(api: Api) -> None:
    query = "{ __typename }"
    assert code(post(api, {"query": query, "extensions": persisted(sha256("another"))})) == "BAD_USER_INPUT"
    assert code(post(api, {"query": query, "extensions": persisted("not a hash")})) == "BAD_USER_INPUT"
    assert code(post(api, {"query": query, "extensions": {"persistedQuery": "nonsense"}})) == "BAD_USER_INPUT"


def test_a_persisted_mutation_is_not_run_by_get(api: Api) -> None:
    mutation = f"mutation Out_{uuid.uuid4().hex} {{ logOut }}"
    post(api, {"query": mutation, "extensions": persisted(sha256(mutation))})  # registered (anonymous: refused)
    assert get(api, sha256(mutation)).status_code == 405


async def test_the_store_keeps_a_bounded_number_of_documents(settings: Settings, redis: Redis) -> None:
    bounded = settings.model_copy(update={"persisted_queries_max": 3, "persisted_query_max_length": 200})
    with TestClient(create_app(bounded)) as client:
        api = Api(client)
        queries = [f"query Q{index}_{uuid.uuid4().hex} {{ __typename }}" for index in range(5)]
        for query in queries:
            assert post(api, {"query": query, "extensions": persisted(sha256(query))})["data"]
        stored = await redis.hkeys(f"{settings.redis_prefix}apq:{{apq}}:documents")
        assert sorted(str(key, "utf-8") if isinstance(key, bytes) else key for key in stored) == sorted(
            sha256(query) for query in queries[2:]
        )
        long = f"# {'a long comment ' * 20}\nquery Long_{uuid.uuid4().hex} {{ __typename }}"
        assert post(api, {"query": long, "extensions": persisted(sha256(long))})["data"]  # runs, not kept
        assert await asyncio.wait_for(redis.hlen(f"{settings.redis_prefix}apq:{{apq}}:documents"), 5) == 3


def write_manifest(path: Path, documents: list[str]) -> None:
    """Apollo's persisted-query manifest, as its generate-persisted-query-manifest writes it."""
    operations = [
        {"id": sha256(text), "body": text, "name": f"Op{index}", "type": "query"}
        for index, text in enumerate(documents)
    ]
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))


def test_trusted_documents_run_alone(settings: Settings, tmp_path: Path) -> None:
    trusted = "query Handle($h: String!) { user(handle: $h) { handle } }"
    manifest = tmp_path / "manifest.json"
    write_manifest(manifest, [trusted])
    with TestClient(create_app(settings.model_copy(update={"trusted_documents": manifest}))) as client:
        api = Api(client)
        variables = {"h": "nobody"}
        assert post(api, {"extensions": persisted(sha256(trusted)), "variables": variables})["data"] == {"user": None}
        assert post(api, {"query": trusted, "variables": variables})["data"] == {"user": None}
        assert get(api, sha256(trusted), variables).json()["data"] == {"user": None}
        assert code(post(api, {"query": "{ __typename }"})) == "FORBIDDEN"
        unknown = "{ viewer { handle } }"
        assert code(post(api, {"query": unknown, "extensions": persisted(sha256(unknown))})) == "FORBIDDEN"
        assert code(post(api, {"extensions": persisted(sha256(unknown))})) == NOT_FOUND


def test_a_relay_manifest_is_read_too(settings: Settings, tmp_path: Path) -> None:
    manifest = tmp_path / "relay.json"
    manifest.write_text(json.dumps({"relay-id-1": "query { __typename }"}))
    with TestClient(create_app(settings.model_copy(update={"trusted_documents": manifest}))) as client:
        api = Api(client)
        assert post(api, {"query": "query { __typename }"})["data"] == {"__typename": "Query"}
        assert code(post(api, {"query": "{ __typename }"})) == "FORBIDDEN"
