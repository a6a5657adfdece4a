"""The service scripts: idempotent, and never fighting another program for a port."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent.parent / "scripts" / "services.sh"
# Every service, in the order the scripts handle them, with the variable that sets its port.
PORT_VARIABLES = {"neo4j": "NEO4J_PORT", "redis": "REDIS_PORT", "minio": "MINIO_PORT", "nginx": "CDN_PORT"}


def services(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SERVICES), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_second_start_installs_nothing_and_reuses_running_services() -> None:
    result = services("start")
    assert result.returncode == 0, result.stderr
    for name in PORT_VARIABLES:
        assert f"{name} already" in result.stderr
    for install_step in ("fetching", "building", "compiling", "installing", "starting"):
        assert install_step not in result.stderr


def test_status_reports_every_service() -> None:
    result = services("status")
    assert result.returncode == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == list(PORT_VARIABLES)
    assert all(": up on " in line for line in result.stdout.splitlines())


@pytest.mark.parametrize("service", list(PORT_VARIABLES))
def test_port_held_by_another_program_is_reported(service: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = services("start", service, env={PORT_VARIABLES[service]: str(port)})
    assert result.returncode != 0
    assert f"port {port} ({service}) is held by another program" in result.stderr
    assert f"pid={os.getpid()}" in result.stderr
    assert f"set {PORT_VARIABLES[service]}" in result.stderr


def test_unknown_action_is_refused() -> None:
    result = services("restart")
    assert result.returncode != 0
    assert "usage" in result.stderr


def test_services_start_stop_and_start_again_on_kept_data(tmp_path: Path) -> None:
    """A restart finds the data of the first start (Neo4j's password already set, and so on)."""
    ports = {}
    for variable in PORT_VARIABLES.values():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports[variable] = str(probe.getsockname()[1])
    env = {"CHIRP_STATE": str(tmp_path), **ports}
    try:
        for _ in range(2):
            started = services("start", env=env)
            assert started.returncode == 0, started.stderr
            assert started.stderr.count("answers") == len(PORT_VARIABLES)
            status = services("status", env=env)
            assert status.returncode == 0
            assert status.stdout.count(": up on ") == len(PORT_VARIABLES)
            stopped = services("stop", env=env)
            assert stopped.returncode == 0, stopped.stderr
        assert services("status", env=env).returncode != 0
    finally:
        services("stop", env=env)
