"""Chirp's own processes for tests that need them as deployed: uvicorn app processes, workers."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a process's Settings() equal these settings (every setting is an env var)."""
    env = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            env.pop(name.upper(), None)
        elif isinstance(value, tuple):  # list settings are comma-separated
            env[name.upper()] = ",".join(value)
        else:
            env[name.upper()] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


@contextmanager
def app_process(settings: Settings, log: Path, **extra: str) -> Iterator[str]:
    """A uvicorn process serving the app with these settings; yields its base URL once it is ready."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=settings_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the app did not get ready in 60 s"
            time.sleep(0.2)
        yield base_url
    finally:
        stop(process)


def stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM (a worker finishes its round, an app its lifespan, and each closes its clients),
    SIGKILL if that takes too long."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def start_worker(settings: Settings, log: Path, **extra: str) -> "subprocess.Popen[bytes]":
    """The worker itself, not a wrapper: its pid is the worker's, for kill -9 and its consumer name."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "feeds.worker"],
            cwd=ROOT,
            env=settings_env(settings, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float, interval: float = 0.1) -> T:
    """Reads until `done` holds or the time is up; returns the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_for_worker(worker: "subprocess.Popen[bytes]", log: Path) -> None:
    """Until the worker logs its start: its consumer group exists and it is about to read the stream.
    (A consumer blocked on an empty stream is not listed by XINFO CONSUMERS on Redis 7.0, so the log it is.)"""

    def started() -> bool:
        assert worker.poll() is None, f"the worker exited with {worker.returncode}:\n{log_tail(log)}"
        return log.exists() and any(
            "fan-out worker" in line and "started" in line for line in log.read_text(errors="replace").splitlines()
        )

    assert wait_until(started, timeout=30), f"the worker did not start within 30 s:\n{log_tail(log)}"


def pid_of(base_url: str) -> int:
    """The pid listening on the URL's port (for reading its memory use)."""
    port = int(base_url.rsplit(":", 1)[1])
    output = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(output.split("pid=")[1].split(",")[0])
