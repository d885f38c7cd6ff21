#!/usr/bin/env python3
"""Idle keep-alive connections held by one server process.

    bench/idle_connections.py [--connections N] [--runtime mio] [--binary PATH] [--workers W]

Starts `http-server --runtime R -p HTTP/1.1` on a free loopback port (with RLIMIT_NOFILE raised
for it and for this script), then:

1. warms the server up with a few requests and reads its RSS (VmRSS in /proc/PID/status);
2. opens N connections and sends one GET on each (keep-alive), reading every response;
3. reads the RSS again: (after - before) / N is the memory per idle connection;
4. times fresh connections (connect, GET, full response) while the N stay open;
5. checks that a sample of the idle connections still answers a second request;
6. SIGTERMs the server with everything still open and checks it exits 0.

Prints a Markdown table row set for bench/RESULTS.md.
"""

import argparse
import os
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = b"GET /small.txt HTTP/1.1\r\nHost: bench\r\n\r\n"
BODY = b"hello, idle world\n"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def expect_response(sock):
    """Reads one response to REQUEST (the body length is known)."""
    data = b""
    while not data.endswith(b"\r\n\r\n" + BODY):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"connection closed after {data!r}")
        data += chunk
    if not data.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"unexpected response {data[:80]!r}")


def one_request(port):
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(REQUEST)
        expect_response(s)
    return (time.perf_counter() - start) * 1000


def open_idle(port, n):
    """N keep-alive connections, one request answered on each, in batches."""
    conns = []
    sel = selectors.DefaultSelector()
    batch = 500
    for base in range(0, n, batch):
        pending = {}
        for _ in range(min(batch, n - base)):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(REQUEST)
            s.setblocking(False)
            pending[s] = b""
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} responses missing")
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("server closed an idle connection early")
                pending[s] += chunk
                if pending[s].endswith(b"\r\n\r\n" + BODY):
                    sel.unregister(s)
                    del pending[s]
                    s.setblocking(True)
                    conns.append(s)
    return conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10_000)
    ap.add_argument("--runtime", default="mio")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/http-server"))
    args = ap.parse_args()

    limit = raise_nofile(args.connections + 1000)
    if limit < args.connections + 100:
        sys.exit(f"RLIMIT_NOFILE hard limit {limit} is too low for {args.connections} connections")

    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "small.txt"), "wb") as f:
            f.write(BODY)
        port = free_port()
        argv = [args.binary, str(port), "-b", "127.0.0.1", "-d", root, "--runtime", args.runtime,
                "-p", "HTTP/1.1", "--max-connections", str(args.connections + 1000)]
        if args.workers:
            argv += ["--workers", str(args.workers)]
        server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  preexec_fn=lambda: raise_nofile(args.connections + 1000))
        try:
            banner = server.stdout.readline().decode().strip()
            print(f"server: {' '.join(argv[1:])}\n{banner}", file=sys.stderr)
            for _ in range(50):
                one_request(port)
            time.sleep(0.2)
            before = rss_kib(server.pid)

            start = time.perf_counter()
            conns = open_idle(port, args.connections)
            opened_s = time.perf_counter() - start
            time.sleep(0.5)
            after = rss_kib(server.pid)
            per_conn = (after - before) * 1024 / len(conns)

            latencies = sorted(one_request(port) for _ in range(50))
            median, worst = statistics.median(latencies), latencies[-1]

            sample = conns[:: max(1, len(conns) // 100)]
            for s in sample:
                s.sendall(REQUEST)
                expect_response(s)

            stop_start = time.perf_counter()
            server.send_signal(signal.SIGTERM)
            status = server.wait(timeout=30)
            stop_s = time.perf_counter() - stop_start
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    print(f"| idle keep-alive connections held | {len(conns):,} |")
    print(f"| time to open them (one GET each) | {opened_s:.2f} s |")
    print(f"| server RSS before / after | {before:,} KiB / {after:,} KiB |")
    print(f"| RSS growth per idle connection | {per_conn:,.0f} bytes |")
    print(f"| fresh request while they are open: median / worst of 50 | {median:.2f} ms / {worst:.2f} ms |")
    print(f"| second request on {len(sample)} sampled idle connections | all answered |")
    print(f"| SIGTERM with {len(conns):,} idle connections | exit {status} after {stop_s:.2f} s |")
    for s in conns:
        s.close()
    return 0 if status == 0 and worst < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
