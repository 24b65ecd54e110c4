#!/usr/bin/env python3
"""Bounded HTTP load against Nginx on 127.0.0.1 (or straight at a Unix socket), counting every
failure.

Runs inside the host under test, so the traffic never leaves it. Stops when the stop file
appears or after --seconds, then writes JSON counts (requests, non_2xx, errors, seconds,
requests_per_second, slowest_seconds and p99_seconds of the answered requests, and with --tag
the tags of the answered requests) to --out. Each
thread opens a new connection per request, as browsers behind different addresses would, so
a refused or reset connection is counted, never retried.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import threading
import time
from collections import Counter
from pathlib import Path


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix stream socket (Gunicorn's, bypassing Nginx)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 with SNI and certificate checks for the Host header's name."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def connect(args: argparse.Namespace) -> http.client.HTTPConnection:
    if args.unix:
        return UnixHTTPConnection(args.unix, timeout=10)
    if args.cafile:
        context = ssl.create_default_context(cafile=args.cafile)
        return LoopbackHTTPSConnection(args.host, args.port, timeout=10, context=context)
    return http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)


def worker(
    args: argparse.Namespace,
    stop: threading.Event,
    counts: Counter,
    lock: threading.Lock,
    answered: list[str],
    number: int,
    latencies: list[float],
) -> None:
    local: Counter = Counter()
    times: list[float] = []
    mine: list[str] = []
    # --rate is the total for all threads; each thread paces itself to its share.
    interval = args.threads / args.rate if args.rate > 0 else 0.0
    next_at = time.monotonic()
    while not stop.is_set():
        if interval:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        # --tag: every request carries a unique query string, so logs can be matched to it.
        tag = f"{args.tag}{number}-{local['requests']}" if args.tag else ""
        path = f"{args.path}{'&' if '?' in args.path else '?'}tag={tag}" if tag else args.path
        begun = time.monotonic()
        try:
            conn = connect(args)
            conn.request("GET", path, headers={"Host": args.host})
            response = conn.getresponse()
            response.read()
            conn.close()
            times.append(time.monotonic() - begun)
            local["requests"] += 1
            if not 200 <= response.status < 300:
                local["non_2xx"] += 1
                local[f"status_{response.status}"] += 1
            elif tag:
                mine.append(tag)
        except OSError as error:
            local["requests"] += 1
            local["errors"] += 1
            local[f"error_{type(error).__name__}"] += 1
    with lock:
        counts.update(local)
        answered.extend(mine)
        latencies.extend(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="localhost", help="Host header")
    parser.add_argument("--path", default="/")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--unix", help="connect to this Unix socket instead of 127.0.0.1")
    parser.add_argument(
        "--cafile", help="HTTPS (with --port), trusting only this CA; the name checked is --host"
    )
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0, help="requests/s in all; 0: flat out")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument(
        "--tag", default="", help="tag every request with ?tag=<TAG><thread>-<n>, listed in --out"
    )

    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    stop = threading.Event()
    counts: Counter = Counter(requests=0, non_2xx=0, errors=0)
    lock = threading.Lock()
    answered: list[str] = []
    latencies: list[float] = []
    threads = [
        threading.Thread(
            target=worker, args=(args, stop, counts, lock, answered, number, latencies)
        )
        for number in range(args.threads)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while time.monotonic() - started < args.seconds and not args.stop_file.exists():
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    result = dict(
        counts,
        seconds=round(seconds, 1),
        requests_per_second=round(counts["requests"] / seconds, 1),
        slowest_seconds=round(max(latencies, default=0.0), 3),
        p99_seconds=round(sorted(latencies)[int(len(latencies) * 0.99)] if latencies else 0.0, 3),
    )
    if args.tag:
        result["answered_tags"] = sorted(answered)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
