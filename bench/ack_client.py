"""The webhook benches' client: C concurrent keep-alive connections in a process of their own.

Reads signed deliveries (``[{"body": str, "headers": {...}}]``) from a JSON file, sends them
from ``--clients`` connections, each sending its next delivery once the previous one was
answered (as GitHub's senders do), and prints one JSON object: the latency of each delivery
in seconds, the wall time of the whole send and the count of each status.

A plain HTTP/1.1 client over asyncio streams: an httpx request costs the client process about
a millisecond of CPU, which on a 2-core machine is taken from the server being measured.
It runs apart from the simulator, whose work for the App's workers would otherwise delay the
clients and be counted as the server's latency.

    python bench/ack_client.py URL DELIVERIES.json --clients 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def request_bytes(host: str, path: str, delivery: dict[str, Any]) -> bytes:
    body = delivery["body"].encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in delivery["headers"].items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() != "close"


async def send_all(url: str, deliveries: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [request_bytes(f"{host}:{port}", parts.path or "/", item) for item in deliveries]
    pending = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while pending:
            data = pending.pop()
            started = time.perf_counter()
            writer.write(data)
            status, keep = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"latencies": latencies, "seconds": time.perf_counter() - started, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("deliveries", type=Path)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    deliveries = json.loads(args.deliveries.read_text())
    print(json.dumps(asyncio.run(send_all(args.url, deliveries, args.clients))))


if __name__ == "__main__":
    main()
