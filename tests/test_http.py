"""The HTTP edge, tried as an attacker would: the shipped secrets refused in production, bodies
refused at the door, uploads refused before their bytes are read, long tweets that cannot hold
the event loop; and GraphQL over HTTP as its spec says, CORS, /metrics behind its token."""

import asyncio
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from app import create_app
from deployment import deployment_problems
from settings import Settings
from tests.conftest import Api, forget_prefix, isolated_settings
from tests.processes import ROOT, app_process, settings_env

GRAPHQL_RESPONSE = "application/graphql-response+json"
SECRETS = {"jwt_secret": "s" * 48, "neo4j_password": "not the shipped one", "minio_root_password": "nor this"}


# --- no default secrets --------------------------------------------------------------------------------------------


def test_production_refuses_to_start_with_the_shipped_secrets() -> None:
    env = settings_env(isolated_settings(), CHIRP_ENV="production")
    started = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode != 0
    (line,) = started.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("chirp: refusing to start in production: JWT_SECRET is the development value")
    assert "secrets.token_urlsafe" in line


def test_production_wants_a_long_jwt_secret_and_no_shipped_password() -> None:
    production = isolated_settings(chirp_env="production", **SECRETS)
    assert deployment_problems(production) == []
    assert deployment_problems(production.model_copy(update={"jwt_secret": "x" * 31})) == [
        "JWT_SECRET is shorter than 32 bytes"
    ]
    shipped = isolated_settings(chirp_env="production", jwt_secret="s" * 48)
    assert deployment_problems(shipped) == [
        "NEO4J_PASSWORD is the development value shipped in the repository",
        "MINIO_ROOT_PASSWORD is the development value shipped in the repository",
    ]
    assert deployment_problems(isolated_settings()) == []  # development accepts them


def test_compose_ships_no_secret_and_a_redis_password() -> None:
    """docker-compose.yml runs production: each secret must come from the environment or .env."""
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in ("JWT_SECRET", "NEO4J_PASSWORD", "MINIO_ROOT_PASSWORD", "REDIS_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"(:?[-?])?", compose)
        assert uses, name
        assert set(uses) == {":?"}, f"{name} has a default in docker-compose.yml"
    assert '"--requirepass", "${REDIS_PASSWORD' in compose
    assert "CHIRP_ENV" not in compose + (ROOT / "Dockerfile").read_text()


def test_metrics_want_their_own_token() -> None:
    production = isolated_settings(chirp_env="production", **SECRETS)
    assert TestClient(create_app(production)).get("/metrics/").status_code == 404  # no lifespan: no services
    guarded = TestClient(create_app(production.model_copy(update={"metrics_token": "m" * 32})))
    assert guarded.get("/metrics/").status_code == 401
    assert guarded.get("/metrics/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/metrics/", headers={"Authorization": f"Bearer {'m' * 32}"}).status_code == 200
    assert TestClient(create_app(isolated_settings())).get("/metrics/").status_code == 200  # development


def test_graphiql_and_introspection_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"graphiql": False, "introspection": False}))) as client:
        assert client.get("/graphql", headers={"Accept": "text/html"}).status_code == 404
        body = Api(client).execute("{ __schema { queryType { name } } }")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert Api(client).data("{ __typename }") == {"__typename": "Query"}


# --- GraphQL over HTTP ---------------------------------------------------------------------------------------


def test_graphql_response_json_has_the_specs_status_codes(app_client: TestClient) -> None:
    def post(body: object, accept: str = GRAPHQL_RESPONSE) -> Any:
        return app_client.post("/graphql", json=body, headers={"Accept": accept})

    ok = post({"query": "{ __typename }"})
    assert (ok.status_code, ok.headers["content-type"]) == (200, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    for request_error in (
        {"query": "{ __typename"},  # does not parse
        {"query": "{ nosuchfield }"},  # does not validate
        {"query": "query($n: Int!) { homeTimeline(first: $n) { pageInfo { hasNextPage } } }", "variables": {"n": "x"}},
    ):
        refused = post(request_error)
        assert refused.status_code == 400, refused.text
        assert "data" not in refused.json()
    anonymous = post({"query": "{ homeTimeline { pageInfo { hasNextPage } } }"})
    assert anonymous.status_code == 200  # a field error: the request itself was fine
    assert anonymous.json()["data"] is None
    legacy = post({"query": "{ __typename"}, accept="application/json")
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
    assert app_client.post("/graphql", content=b"query", headers={"Content-Type": "text/plain"}).status_code == 415
    assert app_client.get("/graphql", params={"query": "mutation { logOut }"}).status_code == 405


def test_cors_lets_a_frontend_on_another_origin_call(settings: Settings) -> None:
    origin = "https://app.example"
    with TestClient(create_app(settings.model_copy(update={"cors_origins": (origin,)}))) as client:
        preflight = client.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        answer = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": origin})
        assert answer.headers["access-control-allow-origin"] == origin
        assert "ratelimit" in answer.headers["access-control-expose-headers"].lower()
        stranger = client.options(
            "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert stranger.status_code == 400


# --- bodies and uploads at the door -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A real app process: these tests speak raw HTTP to it, as an attacker's client would."""
    settings = isolated_settings()
    with app_process(settings, tmp_path_factory.mktemp("edge") / "app.log") as base_url:
        yield base_url, settings
    asyncio.run(forget_prefix(settings))


def raw_request(base_url: str, head: str, body: bytes = b"") -> tuple[int, str]:
    """Sends the head (and what body is given, however much the head announces), then reads the
    answer: the server answers without waiting for the rest of the body."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < received.find(b"\r\n\r\n") + 4 + content_length(received):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    status = int(received.split(b" ", 2)[1])
    return status, received.split(b"\r\n\r\n", 1)[1].decode(errors="replace")


def content_length(received: bytes) -> int:
    for line in received.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def test_a_20_mb_body_is_refused_before_it_is_read(edge: tuple[str, Settings]) -> None:
    base_url, _ = edge
    head = "POST /graphql HTTP/1.1\nHost: chirp\nContent-Type: application/json\nContent-Length: 20000000\n"
    status, body = raw_request(base_url, head, b'{"query": "')
    assert status == 413
    assert json.loads(body)["errors"][0]["extensions"]["maxBytes"] == 1_000_000


def test_a_body_without_a_length_is_cut_off_at_the_limit(app_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"x": "'
        for _ in range(30):
            yield b"a" * 100_000

    response = app_client.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_an_anonymous_upload_is_refused_before_its_file_is_read(edge: tuple[str, Settings]) -> None:
    base_url, _ = edge
    head = (
        "POST /graphql HTTP/1.1\nHost: chirp\nContent-Type: multipart/form-data; boundary=xyz\n"
        "Content-Length: 50000000\n"
    )
    status, body = raw_request(base_url, head, b"--xyz\r\n")
    assert status == 401
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_upload_over_the_budget_is_refused_before_its_file_is_read(settings: Settings, tmp_path: Path) -> None:
    spent = settings.model_copy(update={"budget_uploads": settings.budget_uploads.__class__(1, 1800)})
    with app_process(spent, tmp_path / "app.log") as base_url, httpx.Client(base_url=base_url) as client:
        account = Api(client).sign_up()  # type: ignore[arg-type]
        head = (
            "POST /graphql HTTP/1.1\nHost: chirp\nContent-Type: multipart/form-data; boundary=xyz\n"
            f"Authorization: Bearer {account.token}\nContent-Length: 50000000\n"
        )
        operations = '{"query": "mutation($f: Upload!) { uploadMedia(file: $f) { id } }", "variables": {"f": null}}'
        first = (
            f'--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'
            '--xyz\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.f"]}\r\n'
            '--xyz\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\n\r\nnot an image\r\n--xyz--\r\n'
        ).encode()
        status, _ = raw_request(base_url, head.replace("50000000", str(len(first))), first)
        assert status == 200  # spends the one upload of the budget (and is refused: not an image)
        status, body = raw_request(base_url, head, b"--xyz\r\n")
        assert status == 429
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


def test_an_upload_takes_only_one_file(api: Api) -> None:
    account = api.sign_up()
    operations = {"query": "mutation($f: Upload!) { uploadMedia(file: $f) { id } }", "variables": {"f": None}}
    response = api.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"], "1": ["variables.f"]})},
        files={"0": ("a.png", b"x"), "1": ("b.png", b"y")},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    assert response.status_code == 400


def test_a_string_for_an_upload_is_bad_input(api: Api) -> None:
    account = api.sign_up()
    upload = "mutation($f: Upload!) { uploadMedia(file: $f) { id } }"
    assert api.error_code(upload, {"f": "not a file"}, account.token) == "BAD_USER_INPUT"


# --- tweets that cannot hold the event loop ----------------------------------------------------------------------


def slowest_answer_meanwhile(base_url: str, work: threading.Thread) -> float:
    """Seconds of the slowest `{ __typename }` answered while `work` runs (one at a time)."""
    slowest = 0.0
    with httpx.Client(base_url=base_url, timeout=10) as client:
        client.post("/graphql", json={"query": "{ __typename }"})  # a warm connection
        work.start()
        while work.is_alive():
            started = time.monotonic()
            assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
    work.join()
    return slowest


def test_huge_tweets_are_weighed_without_stalling_anyone(edge: tuple[str, Settings]) -> None:
    base_url, _ = edge
    with httpx.Client(base_url=base_url, timeout=30) as client:
        author = Api(client).sign_up()  # type: ignore[arg-type]
    answers: list[dict[str, object]] = []

    def post_huge() -> None:
        create = "mutation($t: String!) { createTweet(input: {text: $t}) { id } }"
        for text in ("x" * 900_000, ("https://example.com/" + "a" * 4000 + " ") * 11):
            answers.append(
                httpx.post(
                    f"{base_url}/graphql",
                    json={"query": create, "variables": {"t": text}},
                    headers={"Authorization": f"Bearer {author.token}"},
                    timeout=30,
                ).json()
            )

    slowest = slowest_answer_meanwhile(base_url, threading.Thread(target=post_huge))
    too_long, longest_valid = answers
    assert too_long["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # type: ignore[index]
    assert "errors" not in longest_valid  # 44,000 characters weighed as 264: twitter-text ran on it
    # On the event loop, the weighing stalled everyone for about 5 s; half a second leaves room for a
    # machine busy with other work (the weighing thread and the loop share the GIL).
    assert slowest < 0.5, f"a request waited {slowest * 1000:.0f} ms meanwhile"
