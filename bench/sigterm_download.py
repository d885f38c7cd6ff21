#!/usr/bin/env python3
"""SIGTERM in the middle of a 1 GiB download.

    bench/sigterm_download.py [--runtime mio] [--binary PATH] [--size-mib 1024]

Serves a sparse file, starts downloading it over keep-alive HTTP/1.1, reads the first 64 MiB,
sends SIGTERM to the server, then checks: a new connection is refused, the download completes
byte for byte (length and content), and the server exits with status 0.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", default="mio")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/http-server"))
    args = ap.parse_args()
    size = args.size_mib << 20

    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.truncate(size)  # sparse: reads as zeros
        port = free_port()
        server = subprocess.Popen(
            [args.binary, str(port), "-b", "127.0.0.1", "-d", root, "--runtime", args.runtime,
             "-p", "HTTP/1.1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            server.stdout.readline()
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            head, body = head.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 200 "), head
            received, nonzero = len(body), any(body)
            while received < 64 << 20:
                chunk = s.recv(1 << 20)
                assert chunk, "closed before SIGTERM"
                received += len(chunk)
                nonzero |= any(chunk)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                refused = False
            except ConnectionRefusedError:
                refused = True
            start = time.perf_counter()
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
                nonzero |= any(chunk[:: 4096])
            rest_s = time.perf_counter() - start
            status = server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    complete = received == size and not nonzero
    print(f"| SIGTERM after 64 MiB of a {args.size_mib} MiB download ({args.runtime}) | |")
    print(f"| new connection after SIGTERM | {'refused' if refused else 'ACCEPTED'} |")
    print(f"| download | {received:,} of {size:,} bytes{' (complete)' if complete else ' (INCOMPLETE)'}, rest in {rest_s:.2f} s |")
    print(f"| server exit status | {status} |")
    return 0 if refused and complete and status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
