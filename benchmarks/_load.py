"""HTTP load generator for bench_serving.py, run in its own process: stdlib only, a minimal HTTP/1.1 client.

    python benchmarks/_load.py SPEC.json      # prints one JSON result line
    python benchmarks/_load.py --null-server PORT

Modes (``spec["mode"]``):

``open``
    Open loop at a fixed offered rate: request ``i`` is due at ``start + i / rate`` and is dispatched then,
    whether or not earlier ones have returned (a thread sleeping to each due time wakes the event loop: its own
    timers round to the millisecond). Each request takes an idle keep-alive connection from a pool
    opened beforehand (``connections``), waiting for one if all are busy. Latency runs from the *scheduled*
    send time to the last byte of the answer, so time spent queueing -- in the server, in the socket, or for a
    free connection in this client -- counts (no coordinated omission). Requests still unanswered ``grace``
    seconds after the last one was due are abandoned and counted as unfinished (their latency as infinite).
    ``stop_file``: the schedule ends early once that file exists (checked every 50 requests), so a run can
    cover an action of unknown length (``duration`` is then the upper bound). ``keep_answers``: the first
    answer of each status to each body is returned (``answers[body index][status]``, 2,000 characters).
    ``retry_reused``: see ``send`` (off by default: every reset counts as an error).
``closed``
    Closed loop: ``connections`` clients, each sending its next request when the previous answer arrives, for
    ``duration`` seconds or ``count`` requests in all (``connections: 1`` is the sequential, per-request
    service time).

The client writes pre-built request bytes and reads the status line, the headers and a Content-Length or chunked
body: per request a few tens of microseconds of this process's CPU, which it measures (``cpu_percent``, user +
system over the measured window) and reports with how late it dispatched (``dispatch_lag``), so a schedule the
generator itself could not keep is visible rather than read as server latency. ``uvloop`` is used when
importable. ``--null-server`` answers every request at once with a fixed body: the measurement floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0  # closed loop only: the open loop's bound is its grace period
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


class HttpError(Exception):
    pass


def build_requests(url: str, bodies: list[bytes]) -> tuple[str, int, list[bytes]]:
    """(host, port, the raw keep-alive POST of each body)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return host, port, [f"{head}Content-Length: {len(b)}\r\n\r\n".encode() + b for b in bodies]


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.answered = 0  # answers read on the current TCP connection
        self.head_read = False  # the current request's status line and headers arrived

    async def open(self) -> None:
        self.answered = 0
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send ``data``, read the whole answer: (status, body). Reconnects first if closed, by this client or
        by the server while the connection was idle (as urllib3 and httpcore check a pooled connection before
        reusing it: a load balancer reloading closes its idle keep-alive connections)."""
        if self.reader is not None and self.reader.at_eof():
            self.close()
        if self.writer is None:
            await self.open()
        reader, writer = self.reader, self.writer
        assert reader is not None and writer is not None
        self.head_read = False
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        self.head_read = True
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        body = b""
        if chunked:
            while True:
                chunk = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += (await reader.readexactly(chunk + 2))[:chunk]
                if chunk == 0:
                    break
        elif length is not None:
            body = await reader.readexactly(length)
        else:  # read to end of stream
            body = await reader.read()
            close = True
        self.answered += 1
        if close:
            self.close()
        return status, body


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pids_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of other processes (the server's), from /proc (bench_serving uses it too)."""
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return total


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (``inf`` entries count as the largest)."""
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def _summary(latencies: list[float]) -> dict[str, float | None]:
    values = sorted(latencies)

    def ms(v: float) -> float | None:  # JSON has no infinity: None is "unanswered"
        return None if math.isinf(v) or math.isnan(v) else 1000.0 * v

    return {
        "p50_ms": ms(percentile(values, 0.50)),
        "p90_ms": ms(percentile(values, 0.90)),
        "p99_ms": ms(percentile(values, 0.99)),
        "max_ms": ms(values[-1]) if values else None,
    }


async def _warm(pool: list[Connection], requests: list[bytes], per_connection: int) -> None:
    async def warm(conn: Connection, k: int) -> None:
        await conn.open()
        for j in range(per_connection):
            await asyncio.wait_for(conn.request(requests[(k + j) % len(requests)]), REQUEST_TIMEOUT)

    await asyncio.gather(*(warm(c, k) for k, c in enumerate(pool)))


async def open_loop(spec: dict) -> dict:
    host, port, requests = build_requests(spec["url"], [b.encode() for b in spec["bodies"]])
    rate, duration, grace = float(spec["rate"]), float(spec["duration"]), float(spec.get("grace", 2.0))
    n = max(1, round(rate * duration))
    pool = [Connection(host, port) for _ in range(int(spec.get("connections", 64)))]
    await _warm(pool, requests, int(spec.get("warmup", 2)))
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in pool:
        idle.put_nowait(conn)

    dispatched = [math.nan] * n
    done = [math.inf] * n
    status = [0] * n
    errors: dict[str, int] = {}
    answers: dict[str, dict[str, str]] = {}  # with keep_answers: body index -> status -> the first answer's text
    keep_answers = bool(spec.get("keep_answers"))
    stop_file = Path(spec["stop_file"]) if spec.get("stop_file") else None
    in_flight = max_in_flight = pool_waits = retried = 0
    retry_reused = bool(spec.get("retry_reused"))

    async def send(conn: Connection, data: bytes) -> tuple[int, bytes]:
        """With ``retry_reused``: a request whose reused keep-alive connection was closed or reset before any byte
        of answer is sent once more on a new connection, as browsers do -- the server closed it while idle, so it
        never took the request (nginx closes idle connections when it reloads). Counted in ``retried``."""
        nonlocal retried
        reused = conn.answered > 0
        try:
            return await conn.request(data)
        except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
            if not (retry_reused and reused and not conn.head_read):
                raise
        conn.close()
        retried += 1
        return await conn.request(data)

    async def one(i: int) -> None:
        nonlocal in_flight, max_in_flight, pool_waits
        dispatched[i] = time.perf_counter()  # when this task first ran: late if the generator is behind
        if idle.empty():
            pool_waits += 1
        conn = await idle.get()
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        try:
            status[i], body = await send(conn, requests[i % len(requests)])
            if keep_answers:
                answers.setdefault(str(i % len(requests)), {}).setdefault(str(status[i]), body[:2000].decode())
            if status[i] != 200:
                errors[f"HTTP {status[i]}"] = errors.get(f"HTTP {status[i]}", 0) + 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as exc:
            status[i] = -1
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            conn.close()  # reopened by its next request
        except asyncio.CancelledError:  # abandoned after the grace period: the connection is mid-answer
            conn.close()
            raise
        finally:
            in_flight -= 1
            idle.put_nowait(conn)
        done[i] = time.perf_counter()

    tasks: list[asyncio.Task] = []
    loop = asyncio.get_running_loop()
    all_dispatched = loop.create_future()
    watched = [int(p) for p in spec.get("watch_pids", [])]
    cpu0, server0 = _cpu(), pids_cpu(watched)
    start = time.perf_counter() + 0.05
    interval = 1.0 / rate
    next_index = 0

    def dispatch_due() -> None:  # on the event loop: start every request due by now (late ones included)
        nonlocal next_index
        now = time.perf_counter()
        while next_index < n and start + next_index * interval <= now:
            tasks.append(asyncio.create_task(one(next_index)))
            next_index += 1
        if next_index >= n and not all_dispatched.done():
            all_dispatched.set_result(None)

    def ticker() -> None:
        # A thread keeps the schedule with time.sleep (microsecond wake-ups; the event loop's own timers round
        # to the millisecond) and wakes the loop at each due time; the loop then starts whatever is due.
        nonlocal n
        for k in range(n):
            if stop_file is not None and k % 50 == 0 and k and stop_file.exists():  # the schedule ends here
                n = k
                break
            delay = start + k * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if k >= next_index:  # (read without a lock: at worst one extra, harmless wake-up)
                loop.call_soon_threadsafe(dispatch_due)
        loop.call_soon_threadsafe(dispatch_due)

    thread = threading.Thread(target=ticker, name="schedule", daemon=True)
    thread.start()
    await all_dispatched
    thread.join(5.0)  # past its last wake-up already: it must not wake a closed loop
    n = next_index  # fewer than planned when the stop file ended the schedule
    del dispatched[n:], done[n:], status[n:]
    last_due = start + (n - 1) * interval
    wait = last_due + grace - time.perf_counter()
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, wait))
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    finished = time.perf_counter()
    cpu, server_cpu = _cpu() - cpu0, pids_cpu(watched) - server0
    for conn in pool:
        conn.close()

    # answered (any status) or failed: from the scheduled send time; never answered: infinite
    latencies = [done[k] - (start + k * interval) for k in range(n)]
    answered_ok = sum(1 for s in status if s == 200)
    last_done = max((d for d in done if not math.isinf(d)), default=start)
    window = max(last_done, start + n * interval) - start
    lags = sorted(math.inf if math.isnan(d) else d - (start + k * interval) for k, d in enumerate(dispatched))
    return {
        "mode": "open",
        "offered_rps": rate,
        "duration_s": n * interval,
        "requests": n,
        "ok": answered_ok,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "unfinished": sum(1 for s in status if s == 0),
        "sent_rps": n / (max(d for d in dispatched if not math.isnan(d)) - start + interval),
        "achieved_rps": answered_ok / window,
        "dispatch_lag_p99_ms": 1000.0 * percentile(lags, 0.99),
        "dispatch_lag_max_ms": 1000.0 * lags[-1],
        "connections": len(pool),
        "max_in_flight": max_in_flight,
        "pool_waits": pool_waits,
        "retried": retried,
        **({"answers": answers} if keep_answers else {}),
        "cpu_s": cpu,
        "wall_s": finished - start,
        "cpu_percent": 100.0 * cpu / (finished - start),
        "server_cpu_percent": 100.0 * server_cpu / (finished - start + 0.05),
        **_summary(latencies),
    }


async def closed_loop(spec: dict) -> dict:
    host, port, requests = build_requests(spec["url"], [b.encode() for b in spec["bodies"]])
    clients = int(spec.get("connections", 1))
    count = spec.get("count")
    duration = spec.get("duration")
    pool = [Connection(host, port) for _ in range(clients)]
    await _warm(pool, requests, int(spec.get("warmup", 10)))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    watched = [int(p) for p in spec.get("watch_pids", [])]
    cpu0, server0 = _cpu(), pids_cpu(watched)
    start = time.perf_counter()
    stop_at = start + float(duration) if duration is not None else math.inf

    async def client(conn: Connection) -> None:
        nonlocal issued
        while (count is None or issued < count) and time.perf_counter() < stop_at:
            k = issued
            issued += 1
            t0 = time.perf_counter()
            try:
                code = (await asyncio.wait_for(conn.request(requests[k % len(requests)]), REQUEST_TIMEOUT))[0]
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - t0)
            if code != 200:
                errors[f"HTTP {code}"] = errors.get(f"HTTP {code}", 0) + 1

    await asyncio.gather(*(client(c) for c in pool))
    elapsed = time.perf_counter() - start
    cpu, server_cpu = _cpu() - cpu0, pids_cpu(watched) - server0
    for conn in pool:
        conn.close()
    ok = len(latencies) - sum(v for k, v in errors.items() if k.startswith("HTTP"))
    return {
        "mode": "closed",
        "connections": clients,
        "requests": issued,
        "ok": ok,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "elapsed_s": elapsed,
        "rps": ok / elapsed,
        "wall_s": elapsed,
        "cpu_percent": 100.0 * cpu / elapsed,
        "server_cpu_percent": 100.0 * server_cpu / elapsed,
        **_summary(latencies),
    }


class _NullServer(asyncio.Protocol):
    BODY = b'{"probability":0.5,"decision":0}'
    ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(BODY),
        BODY,
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.ANSWER)  # type: ignore[attr-defined]


async def null_server(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_NullServer, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def _run(coro):
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--null-server"]:
        with contextlib.suppress(KeyboardInterrupt):
            _run(null_server(int(argv[1])))
        return 0
    spec = json.loads(Path(argv[0]).read_text())
    result = _run(open_loop(spec) if spec["mode"] == "open" else closed_loop(spec))
    result["event_loop"] = "uvloop" if "uvloop" in sys.modules else "asyncio"
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
