"""A TCP gate in front of a real service: closed, the service is unreachable from behind it (new
connections refused, open ones cut), as in a network partition or a crash, while the service
itself, shared by the other tests, runs on. Opened again, it forwards as before."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.processes import free_port


class Gate:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def open(self) -> None:
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result(timeout=10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)

    def shut_down(self) -> None:
        self.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _open(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            service_reader, service_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.writers |= {client_writer, service_writer}
        await asyncio.gather(
            self._pipe(client_reader, service_writer), self._pipe(service_reader, client_writer), return_exceptions=True
        )
        self.writers -= {client_writer, service_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@contextmanager
def gate(target_host: str, target_port: int) -> Iterator[Gate]:
    """An open gate, shut down afterwards."""
    opened = Gate(target_host, target_port)
    opened.open()
    try:
        yield opened
    finally:
        opened.shut_down()
