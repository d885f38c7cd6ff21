"""An echo origin on h11 (PyPI), for the differential run (diff/run.py).

It answers every request h11 accepts with the JSON of `http-server --echo` (HTTP Garden's
echo origin format, every byte string base64): `method`, `uri` (the target as h11 read it),
`version` (`HTTP/` and h11's `http_version`), `headers` (h11's raw items: names as sent, in
wire order; values as h11 keeps them) and the decoded `body`. What h11 rejects gets the
status h11 suggests (`error_status_hint`), `Connection: close`, h11's message as the body,
and a close. A body over 1 MiB gets 413, as ours.

h11 is a pure parser: this script does the socket work, one thread per connection, with h11's
default settings. Usage: `python h11_origin.py PORT` (binds 127.0.0.1).
"""

import base64
import json
import socket
import socketserver
import sys

import h11

MAX_BODY = 1024 * 1024
REASONS = {400: "Bad Request", 413: "Content Too Large", 431: "Request Header Fields Too Large",
           501: "Not Implemented", 505: "HTTP Version Not Supported"}


def b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def describe(request, body):
    return json.dumps({
        "method": b64(request.method),
        "uri": b64(request.target),
        "version": b64(b"HTTP/" + request.http_version),
        "headers": [[b64(name), b64(value)] for name, value in request.headers.raw_items()],
        "body": b64(body),
    }, separators=(",", ":")).encode("ascii")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(30)
        conn = h11.Connection(h11.SERVER)
        request, body = None, bytearray()
        try:
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError as e:
                    self.refuse(e.error_status_hint, str(e))
                    return
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(65536))
                elif isinstance(event, h11.Request):
                    request, body = event, bytearray()
                elif isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > MAX_BODY:
                        self.refuse(413, "body too large")
                        return
                elif isinstance(event, h11.EndOfMessage):
                    answer = describe(request, body)
                    if request.method == b"CONNECT":
                        # h11 takes a 2xx to CONNECT as a switch to a tunnel and sends no
                        # body after it: this answer is written by hand, then the close.
                        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                     % len(answer) + answer)
                        self.close()
                        return
                    out = conn.send(h11.Response(status_code=200, headers=[
                        ("Content-Type", "application/json"),
                        ("Content-Length", str(len(answer))),
                    ]))
                    if request.method != b"HEAD":
                        out += conn.send(h11.Data(data=answer))
                    out += conn.send(h11.EndOfMessage())
                    sock.sendall(out)
                    if conn.our_state is h11.MUST_CLOSE:
                        self.close()
                        return
                    conn.start_next_cycle()
                else:  # ConnectionClosed, or PAUSED (never: every cycle is answered)
                    return
        except OSError:
            return

    def refuse(self, status, message):
        body = message.encode("utf-8", "replace")
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode("ascii")
        try:
            self.request.sendall(head + body)
        except OSError:
            return
        self.close()

    def close(self):
        # Half-close and drain what the client still sends (a lingering close), so that
        # unread input does not turn the close into a reset that loses the answer.
        sock = self.request
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(2)
            while sock.recv(65536):
                pass
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def main():
    port = int(sys.argv[1])
    with Server(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
