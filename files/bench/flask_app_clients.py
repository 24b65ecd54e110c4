#!/usr/bin/env python3
"""Clients that misbehave, bounded, against Nginx on 127.0.0.1, each from a loopback address of
its own (127.0.0.0/8 is all loopback), so Nginx sees several client addresses inside one host.

Runs inside the host under test, so the traffic never leaves it. Prints one JSON object.

  idle     --count N: N keep-alive connections, one answered request each, then held idle;
           how many Nginx still keeps open after --hold seconds.
  slow     a request header that never ends: seconds until Nginx closes the connection.
  contend  a flood (--flood requests from --flood-threads threads, as fast as they go) and,
           at the same time, a client of normal pace (--paced requests, --rate per second),
           each from its own address: the answers each got.
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


def unverified_context() -> ssl.SSLContext:
    """TLS without checking the certificate: the test host's is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def open_socket(args: argparse.Namespace, source: str) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", args.port), timeout=10, source_address=(source, 0)
    )
    if args.tls:
        context = unverified_context()
        sock = context.wrap_socket(sock, server_hostname=args.host)
    return sock


def request(args: argparse.Namespace) -> bytes:
    return f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n\r\n".encode()


def is_open(sock: socket.socket) -> bool:
    """Whether the peer keeps the connection: nothing to read yet, no end of stream."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def idle(args: argparse.Namespace) -> dict:
    held: list[socket.socket] = []
    answered = 0
    for _ in range(args.count):
        try:
            sock = open_socket(args, args.source)
            sock.sendall(request(args))
            if sock.recv(65536).startswith(b"HTTP/1.1 "):
                answered += 1
            held.append(sock)
        except OSError:
            continue
    time.sleep(args.hold)
    still_open = sum(is_open(sock) for sock in held)
    for sock in held:
        sock.close()
    return {"count": args.count, "answered": answered, "open_after_hold": still_open}


def slow(args: argparse.Namespace) -> dict:
    sock = open_socket(args, args.source)
    sock.sendall(f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n".encode())
    started = time.monotonic()
    sock.settimeout(args.hold)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    return {"closed_after_seconds": round(time.monotonic() - started, 2)}


class SourceHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, args: argparse.Namespace, source: str) -> None:
        context = unverified_context()
        super().__init__(args.host, args.port, timeout=10, context=context)
        self.source = source

    def connect(self) -> None:
        sock = socket.create_connection(
            ("127.0.0.1", self.port), self.timeout, source_address=(self.source, 0)
        )
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def one(args: argparse.Namespace, source: str) -> tuple[str, float]:
    """(status or error name, seconds) of one request on a connection of its own."""
    started = time.monotonic()
    if args.tls:
        connection: http.client.HTTPConnection = SourceHTTPSConnection(args, source)
    else:
        connection = http.client.HTTPConnection(
            "127.0.0.1", args.port, timeout=10, source_address=(source, 0)
        )
    try:
        connection.request("GET", args.path, headers={"Host": args.host})
        response = connection.getresponse()
        response.read()
        return str(response.status), time.monotonic() - started
    except OSError as error:
        return type(error).__name__, time.monotonic() - started
    finally:
        connection.close()


def contend(args: argparse.Namespace) -> dict:
    flood: Counter = Counter()
    paced: Counter = Counter()
    slowest = [0.0]
    lock = threading.Lock()
    left = [args.flood]
    flood_ended = [0.0]

    def flooder() -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            status, _ = one(args, args.flood_source)
            with lock:
                flood[status] += 1
                flood_ended[0] = time.monotonic()

    threads = [threading.Thread(target=flooder) for _ in range(args.flood_threads)]
    flood_started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    for _ in range(args.paced):
        status, seconds = one(args, args.source)
        paced[status] += 1
        slowest[0] = max(slowest[0], seconds)
        time.sleep(1 / args.rate)
    for thread in threads:
        thread.join()
    return {
        "flood": dict(flood),
        "flood_seconds": round(flood_ended[0] - flood_started, 2),
        "paced": dict(paced),
        "paced_slowest_seconds": round(slowest[0], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["idle", "slow", "contend"])
    parser.add_argument("--host", default="localhost", help="Host header (and SNI with --tls)")
    parser.add_argument("--path", default="/")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--tls", action="store_true", help="HTTPS, the certificate not checked")
    parser.add_argument("--source", default="127.0.0.1", help="the client's own address")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--hold", type=float, default=5)
    parser.add_argument("--flood-source", default="127.0.0.2")
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--flood-threads", type=int, default=30)
    parser.add_argument("--paced", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5)
    args = parser.parse_args()
    print(json.dumps({"idle": idle, "slow": slow, "contend": contend}[args.what](args)))


if __name__ == "__main__":
    main()
