"""The app's HTTP surface: health, readiness (against a Redis this test stops and starts), GraphQL."""

import pytest
from starlette.testclient import TestClient

from app import create_app
from settings import Settings
from tests.conftest import RedisProcess


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    return app_client


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_readyz_follows_redis_without_restart(settings: Settings, own_redis: RedisProcess) -> None:
    with TestClient(create_app(settings.model_copy(update={"redis_port": own_redis.port}))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "services": {"neo4j": "up", "redis": "up", "minio": "up"},
            "down": [],
        }

        own_redis.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["down"] == ["redis"]
        assert down.json()["services"]["redis"] == "down"
        assert client.get("/healthz").status_code == 200

        own_redis.start()
        assert client.get("/readyz").status_code == 200


def test_graphql_answers_typename(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"__typename": "Query"}
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0


def test_graphiql_in_the_browser(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_graphql_over_websocket(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }"}})
        assert ws.receive_json() == {"type": "next", "id": "1", "payload": {"data": {"__typename": "Query"}}}
        assert ws.receive_json() == {"type": "complete", "id": "1"}


def test_metrics(client: TestClient) -> None:
    response = client.get("/metrics/")
    assert response.status_code == 200
    assert "python_info" in response.text
