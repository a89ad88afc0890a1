"""The benchmarks' load generator (``benchmarks/_load.py``) against a server that drops idle keep-alive
connections the way nginx does when it reloads: every request on a reused connection is reset unread.

With ``retry_reused`` the generator sends such a request once more on a new connection and counts it in
``retried`` (the server never took it); without, each is an error. Either way nothing is silently lost.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.benchmarks import benchmark_module

pytestmark = pytest.mark.serving


@pytest.fixture(scope="module")
def load():
    return benchmark_module("_load")


class _OneAnswerPerConnection(asyncio.Protocol):
    """Answers the first request of a connection (keep-alive, no ``Connection: close``), then resets the
    connection when the next request arrives, without reading it."""

    BODY = b'{"ok":true}'

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            self.transport.abort()  # type: ignore[attr-defined]  (RST: the request is never read)
            return
        self.answered = True
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(self.BODY)
        self.transport.write(head + self.BODY)  # type: ignore[attr-defined]


async def _run(load, retry_reused: bool) -> dict:
    server = await asyncio.get_running_loop().create_server(_OneAnswerPerConnection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    spec = {"mode": "open", "url": f"http://127.0.0.1:{port}/predict", "bodies": ["{}"], "rate": 200.0,
            "duration": 0.5, "connections": 4, "warmup": 1, "grace": 2.0, "retry_reused": retry_reused}  # fmt: skip
    async with server:
        return await load.open_loop(spec)


def test_a_request_reset_on_a_reused_connection_is_sent_again_and_counted(load):
    result = asyncio.run(_run(load, retry_reused=True))
    assert result["requests"] == 100
    assert result["ok"] == 100 and result["errors"] == 0 and result["unfinished"] == 0
    assert result["retried"] >= 4  # the warm-up answered one request per connection: the next one is reset


def test_without_retries_every_reset_is_an_error(load):
    result = asyncio.run(_run(load, retry_reused=False))
    assert result["retried"] == 0
    assert result["errors"] >= 4 and result["ok"] + result["errors"] == 100
    assert set(result["error_kinds"]) <= {"ConnectionResetError", "IncompleteReadError", "BrokenPipeError"}
