#!/usr/bin/env python3
"""The differential run: the same requests to our `--echo` origin, to an echo origin on hyper
(crates.io) and to one on h11 (PyPI); every disagreement is reported and must be explained.

    diff/run.py [--count N] [--seed S] [--jobs J] [--release] [--minimise TRIES]
                [--markdown FILE] [--dump FILE]

1. Builds or installs the origins: `http-server` (`cargo build -p http-server`), the
   standalone hyper origin in `diff/hyper-origin/` (its own Cargo.lock, built into
   `$CARGO_TARGET_DIR/diff/hyper-origin`, default `target/`), and h11 at a pinned version in a
   virtual environment at `$CARGO_TARGET_DIR/diff/venv` (`python3 -m venv`, then pip; where
   the venv module is missing, Debian's python3-venv is installed when root, else
   `pip install --target`). A fresh machine needs only Rust, gcc and python3.
2. Starts them on free loopback ports: ours as `http-server --echo -p HTTP/1.1` (keep-alive,
   so pipelined requests are answered), hyper and h11 with their default settings.
3. Generates the requests: a seed corpus of valid and hostile shapes (`CORPUS` below), then
   deterministic mutations of it from `--seed` (bit flips, byte replacements, insertions of
   interesting bytes and lines, deletions, duplications, line swaps, splices of two cases)
   up to `--count` requests. The first N requests of a seed are the same whatever the count.
4. Sends each request on a fresh connection to each origin, and once more to ours in two
   writes (`ours-split`: a head cut in two takes another path through our parser, which
   must come to the same verdict). Reads until the origin closes; an origin quiet for
   `--quiet` seconds gets our end of stream (the request is all there is) and is read on
   until it answers or closes. What came back is a list of outcomes: each answer is
   *accepted* (200 with the echo JSON: method, target, version, headers, decoded body) or
   *rejected* (any other status, or a close without an answer). A disagreement where an
   origin stayed open or reset the connection is sent again, patiently, before it counts.
5. Compares ours with each of the others, outcome by outcome, after a normalisation that
   only removes what legitimately differs: header names are compared in lowercase and in a
   stable order by name (hyper keeps neither case nor order across names);
   `Content-Length` and `Transfer-Encoding` fields are left out of the header comparison
   (h11 rewrites them) and compared through the body they frame; an absolute-form target
   has its scheme lowercased and an empty path read as `/` (as hyper prints it); rejections
   are alike whatever their status and reason. The first difference is the disagreement:
   `ours accepts, hyper rejects (<hyper's error>)`, `ours rejects (<our reason>), h11
   accepts`, `both accept, <field> differs`, `ours accepts, h11 closes` (a pipelined request
   one answers and the other does not), and its class adds what a reference reading of
   RFC 9112 (`diff/rfc9112.py`) says of that request: the first rule it breaks (`flaw: ...`;
   then our own reason is left out, as any rule broken justifies a refusal), else what it
   leaves to the recipient (`leeway: ...`) or the leniencies it uses.
6. Prints the summary (requests sent, agreements, every class with its count, its
   explanation and one example, minimised with `--minimise` exchanges), then what ours
   accepted although the reference calls it flawed, and exits 1 when a class is not listed
   in `diff/explained.txt`, which maps each explained class to entries of the table in
   `docs/SECURITY.md`, "Differential run against hyper and h11" (an entry missing from
   there is an error too). Disagreements between `ours` and `ours-split` are never
   explained: each is a bug.
"""

import argparse
import base64
import json
import os
import random
import re
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import rfc9112

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
WORK = TARGET / "diff"
H11_VERSION = "0.16.0"
EXPLAINED = ROOT / "diff" / "explained.txt"
SECURITY = ROOT / "docs" / "SECURITY.md"
# `ours-split` is our origin again, sent each request in two writes (cut at a point drawn from
# the request's bytes): the whole head and the head that trickles in take different paths
# through our parser, which must agree.
ORIGINS = ("ours", "hyper", "h11", "ours-split")


# ---------------------------------------------------------------------------------------------
# The seed corpus


def req(line, *fields, body=b"", end=b"\r\n"):
    """A request: `line`, then each field line, then the blank line and `body`."""
    out = line + end
    for field in fields:
        out += field + end
    return out + end + body


H = b"Host: a"
CHUNKED = b"Transfer-Encoding: chunked"

CORPUS = [
    # Valid shapes.
    ("get", req(b"GET / HTTP/1.1", H)),
    ("get-query", req(b"GET /a/b%20c?x=1&y=%41#f HTTP/1.1", H, b"Accept: */*")),
    ("get-1.0", req(b"GET /x HTTP/1.0")),
    ("get-1.0-host", req(b"GET /x HTTP/1.0", b"Host: example.com:8080")),
    ("keep-alive-1.0", req(b"GET /1 HTTP/1.0", b"Connection: keep-alive")
     + req(b"GET /2 HTTP/1.0", b"Connection: keep-alive")),
    ("close", req(b"GET / HTTP/1.1", H, b"Connection: close") + req(b"GET /2 HTTP/1.1", H)),
    ("pipelined", req(b"GET /1 HTTP/1.1", H) + req(b"POST /2 HTTP/1.1", H, b"Content-Length: 3",
                                                   body=b"abc") + req(b"GET /3 HTTP/1.1", H)),
    ("post-length", req(b"POST /p HTTP/1.1", H, b"Content-Length: 5", body=b"hello")),
    ("post-length-0", req(b"POST /p HTTP/1.1", H, b"Content-Length: 0")),
    ("get-with-body", req(b"GET / HTTP/1.1", H, b"Content-Length: 2", body=b"hi")),
    ("chunked", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked-two", req(b"POST / HTTP/1.1", H, CHUNKED,
                        body=b"3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n")),
    ("chunked-ext", req(b"POST / HTTP/1.1", H, CHUNKED,
                        body=b"5;name=value\r\nhello\r\n0;last\r\n\r\n")),
    ("chunked-ext-quoted", req(b"POST / HTTP/1.1", H, CHUNKED,
                               body=b'5;a="b c;d"\r\nhello\r\n0\r\n\r\n')),
    ("chunked-trailer", req(b"POST / HTTP/1.1", H, CHUNKED,
                            body=b"5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n")),
    ("chunked-upper", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: CHUNKED",
                          body=b"1\r\na\r\n0\r\n\r\n")),
    ("chunked-then-get", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"1\r\na\r\n0\r\n\r\n")
     + req(b"GET /next HTTP/1.1", H)),
    ("options-star", req(b"OPTIONS * HTTP/1.1", H)),
    ("absolute", req(b"GET http://a/b?c HTTP/1.1", H)),
    ("absolute-no-path", req(b"GET http://a HTTP/1.1", H)),
    ("absolute-port", req(b"GET http://a:8080/x HTTP/1.1", b"Host: a:8080")),
    ("absolute-https", req(b"GET https://a/x HTTP/1.1", H)),
    ("connect", req(b"CONNECT a:443 HTTP/1.1", b"Host: a:443")),
    ("expect-continue", req(b"POST / HTTP/1.1", H, b"Expect: 100-continue", b"Content-Length: 3",
                            body=b"abc")),
    ("values", req(b"GET / HTTP/1.1", H, b"X-Tab:\tv\t", b"X-Empty:", b"X-Pad:   p  ",
                   b"X-Inner: a  b\tc")),
    ("obs-text", req(b"GET / HTTP/1.1", H, b"X-Latin: caf\xe9 \xff")),
    ("repeated", req(b"GET / HTTP/1.1", H, b"X-A: 1", b"Cookie: a=b", b"x-a: 2", b"Cookie: c=d")),
    ("many-fields", req(b"GET / HTTP/1.1", H, *[b"X-%d: %d" % (i, i) for i in range(60)])),
    ("long-value", req(b"GET / HTTP/1.1", H, b"X-Long: " + b"v" * 8000)),
    ("leading-crlf", b"\r\n" + req(b"GET / HTTP/1.1", H)),
    ("leading-lf", b"\n" + req(b"GET / HTTP/1.1", H)),
    ("custom-method", req(b"PURGE /x HTTP/1.1", H)),
    ("method-tchars", req(b"M-E.T_H!O~D /x HTTP/1.1", H)),
    ("head", req(b"HEAD / HTTP/1.1", H)),
    ("host-ipv6", req(b"GET / HTTP/1.1", b"Host: [::1]:80")),
    ("host-empty", req(b"GET / HTTP/1.1", b"Host:")),
    ("target-chars", req(b"GET /~a!$&'()*+,;=:@-._?/? HTTP/1.1", H)),
    ("content-length-dup-same", req(b"POST / HTTP/1.1", H, b"Content-Length: 3",
                                    b"Content-Length: 3", body=b"abc")),
    ("content-length-list-same", req(b"POST / HTTP/1.1", H, b"Content-Length: 3, 3", body=b"abc")),
    ("bare-lf", req(b"GET / HTTP/1.1", H, b"X: y", end=b"\n")),
    ("mixed-endings", b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n"),
    ("http-1.2", req(b"GET / HTTP/1.2", H)),
    ("connection-list", req(b"GET / HTTP/1.1", H, b"Connection: foo, close") + req(b"GET /2 HTTP/1.1", H)),
    # Framing attacks.
    ("cl-te", req(b"POST / HTTP/1.1", H, b"Content-Length: 4", CHUNKED, body=b"0\r\n\r\n")),
    ("te-cl", req(b"POST / HTTP/1.1", H, CHUNKED, b"Content-Length: 4", body=b"0\r\n\r\n")),
    ("cl-differ", req(b"POST / HTTP/1.1", H, b"Content-Length: 3", b"Content-Length: 4",
                      body=b"abcd")),
    ("cl-list-differ", req(b"POST / HTTP/1.1", H, b"Content-Length: 3, 4", body=b"abcd")),
    ("cl-plus", req(b"POST / HTTP/1.1", H, b"Content-Length: +3", body=b"abc")),
    ("cl-zeros", req(b"POST / HTTP/1.1", H, b"Content-Length: 003", body=b"abc")),
    ("cl-negative", req(b"POST / HTTP/1.1", H, b"Content-Length: -1", body=b"abc")),
    ("cl-hex", req(b"POST / HTTP/1.1", H, b"Content-Length: 0x3", body=b"abc")),
    ("cl-space-inside", req(b"POST / HTTP/1.1", H, b"Content-Length: 1 2", body=b"a" * 12)),
    ("cl-huge", req(b"POST / HTTP/1.1", H, b"Content-Length: 99999999999999999999999", body=b"a")),
    ("cl-empty", req(b"POST / HTTP/1.1", H, b"Content-Length:", body=b"a")),
    ("cl-short-body", req(b"POST / HTTP/1.1", H, b"Content-Length: 10", body=b"abc")),
    ("cl-long-body", req(b"POST / HTTP/1.1", H, b"Content-Length: 3", body=b"abcGET /x HTTP/1.1\r\nHost: a\r\n\r\n")),
    ("te-double", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, chunked",
                      body=b"0\r\n\r\n")),
    ("te-twice", req(b"POST / HTTP/1.1", H, CHUNKED, CHUNKED, body=b"0\r\n\r\n")),
    ("te-gzip-chunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: gzip, chunked",
                            body=b"0\r\n\r\n")),
    ("te-chunked-gzip", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: chunked, gzip",
                            body=b"0\r\n\r\n")),
    ("te-identity", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: identity", body=b"0\r\n\r\n")),
    ("te-xchunked", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: xchunked", body=b"0\r\n\r\n")),
    ("te-space-colon", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding : chunked",
                           body=b"0\r\n\r\n")),
    ("te-tab-value", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding:\tchunked",
                         body=b"0\r\n\r\n")),
    ("te-http-1.0", req(b"POST / HTTP/1.0", CHUNKED, body=b"0\r\n\r\n")),
    ("te-folded", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding:", b" chunked",
                      body=b"0\r\n\r\n")),
    ("te-vtab", req(b"POST / HTTP/1.1", H, b"Transfer-Encoding: \x0bchunked", body=b"0\r\n\r\n")),
    # Chunked bodies.
    ("chunk-0x", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-negative", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"-5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-leading-space", req(b"POST / HTTP/1.1", H, CHUNKED, body=b" 5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-trailing-space", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5 \r\nhello\r\n0\r\n\r\n")),
    ("chunk-bws-ext", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5 ;a=b\r\nhello\r\n0\r\n\r\n")),
    ("chunk-empty-ext", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5;\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-junk", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5;a b c\r\nhello\r\n0\r\n\r\n")),
    ("chunk-junk", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5 zz\r\nhello\r\n0\r\n\r\n")),
    ("chunk-overflow", req(b"POST / HTTP/1.1", H, CHUNKED,
                           body=b"10000000000000005\r\nhello\r\n0\r\n\r\n")),
    ("chunk-bare-lf", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5\nhello\n0\n\n")),
    ("chunk-data-no-crlf", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5\r\nhelloXX0\r\n\r\n")),
    ("chunk-data-long", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"3\r\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-lf", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5;a=b\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-cr", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"5;a=\rb\r\nhello\r\n0\r\n\r\n")),
    ("trailer-bad", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"0\r\nX Y: z\r\n\r\n")),
    ("trailer-cl", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"0\r\nContent-Length: 5\r\n\r\n")),
    ("trailer-fold", req(b"POST / HTTP/1.1", H, CHUNKED, body=b"0\r\nX: a\r\n b\r\n\r\n")),
    # Header block.
    ("obs-fold", req(b"GET / HTTP/1.1", H, b"X-Fold: a", b" b")),
    ("obs-fold-tab", req(b"GET / HTTP/1.1", H, b"X-Fold: a", b"\tb")),
    ("fold-first", req(b"GET / HTTP/1.1", b" X: y", H)),
    ("space-before-colon", req(b"GET / HTTP/1.1", H, b"X-A : b")),
    ("tab-before-colon", req(b"GET / HTTP/1.1", H, b"X-A\t: b")),
    ("space-in-name", req(b"GET / HTTP/1.1", H, b"X A: b")),
    ("empty-name", req(b"GET / HTTP/1.1", H, b": b")),
    ("no-colon", req(b"GET / HTTP/1.1", H, b"X-A b")),
    ("name-non-token", req(b"GET / HTTP/1.1", H, b"X@A: b")),
    ("name-utf8", req(b"GET / HTTP/1.1", H, b"X-\xc3\xa9: b")),
    ("nul-value", req(b"GET / HTTP/1.1", H, b"X-A: a\x00b")),
    ("del-value", req(b"GET / HTTP/1.1", H, b"X-A: a\x7fb")),
    ("ctl-value", req(b"GET / HTTP/1.1", H, b"X-A: a\x01b")),
    ("cr-value", req(b"GET / HTTP/1.1", H, b"X-A: a\rb")),
    ("bare-cr-line", b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
    ("vtab-ows", req(b"GET / HTTP/1.1", H, b"X-A:\x0bb")),
    ("too-many-fields", req(b"GET / HTTP/1.1", H, *[b"X-%d: %d" % (i, i) for i in range(120)])),
    ("huge-field", req(b"GET / HTTP/1.1", H, b"X-Big: " + b"b" * 20000)),
    # Host.
    ("host-missing", req(b"GET / HTTP/1.1")),
    ("host-twice", req(b"GET / HTTP/1.1", H, H)),
    ("host-twice-1.0", req(b"GET / HTTP/1.0", H, b"Host: b")),
    ("host-space", req(b"GET / HTTP/1.1", b"Host: a b")),
    ("host-userinfo", req(b"GET / HTTP/1.1", b"Host: u@a")),
    ("host-path", req(b"GET / HTTP/1.1", b"Host: a/b")),
    ("host-bad-port", req(b"GET / HTTP/1.1", b"Host: a:b")),
    ("host-open-ipv6", req(b"GET / HTTP/1.1", b"Host: [::1")),
    ("host-comma", req(b"GET / HTTP/1.1", b"Host: a, b")),
    # Request line and target.
    ("absolute-userinfo", req(b"GET http://u@a/ HTTP/1.1", H)),
    ("absolute-ftp", req(b"GET ftp://a/ HTTP/1.1", H)),
    ("absolute-no-host", req(b"GET http:///x HTTP/1.1", H)),
    ("authority-get", req(b"GET a:80 HTTP/1.1", H)),
    ("connect-path", req(b"CONNECT / HTTP/1.1", H)),
    ("star-get", req(b"GET * HTTP/1.1", H)),
    ("relative-target", req(b"GET a.txt HTTP/1.1", H)),
    ("target-nul", req(b"GET /a\x00b HTTP/1.1", H)),
    ("target-ctl", req(b"GET /a\x01b HTTP/1.1", H)),
    ("target-del", req(b"GET /a\x7fb HTTP/1.1", H)),
    ("target-obs", req(b"GET /caf\xc3\xa9 HTTP/1.1", H)),
    ("target-brackets", req(b'GET /a{b}|c\\d^e`f"g<h> HTTP/1.1', H)),
    ("target-hash", req(b"GET /a#frag HTTP/1.1", H)),
    ("target-space", req(b"GET /a b HTTP/1.1", H)),
    ("target-long", req(b"GET /" + b"a" * 70000 + b" HTTP/1.1", H), False),
    ("method-lower", req(b"get / HTTP/1.1", H)),
    ("method-non-token", req(b"G@T / HTTP/1.1", H)),
    ("method-ctl", req(b"G\x01T / HTTP/1.1", H)),
    ("double-space", req(b"GET  / HTTP/1.1", H)),
    ("tab-separator", req(b"GET\t/\tHTTP/1.1", H)),
    ("leading-space", req(b" GET / HTTP/1.1", H)),
    ("trailing-space", req(b"GET / HTTP/1.1 ", H)),
    ("extra-word", req(b"GET / HTTP/1.1 x", H)),
    ("http-0.9-line", b"GET /\r\n"),
    ("http-0.9-token", req(b"GET / HTTP/0.9", H)),
    ("http-2.0", req(b"GET / HTTP/2.0", H)),
    ("http-1.10", req(b"GET / HTTP/1.10", H)),
    ("http-01.1", req(b"GET / HTTP/01.1", H)),
    ("http-9.9", req(b"GET / HTTP/9.9", H)),
    ("http-lower", req(b"GET / http/1.1", H)),
    ("http-no-minor", req(b"GET / HTTP/1", H)),
    ("request-line-bare-cr", b"GET / HTTP/1.1\rHost: a\r\n\r\n"),
    ("nul-line", b"\x00" + req(b"GET / HTTP/1.1", H)),
    ("incomplete-head", b"GET / HTTP/1.1\r\nHost: a\r\n"),
    ("bad-after-good", req(b"GET /1 HTTP/1.1", H) + req(b"GET /2 HTTP/1.1", b"Host: a b")),
    ("upgrade", req(b"GET / HTTP/1.1", H, b"Connection: Upgrade", b"Upgrade: websocket")),
]

# A case is (name, bytes) or (name, bytes, mutate?): the few very large ones are sent as they
# are but not mutated (their mutants would all be the same story, and slow).
CORPUS = [c if len(c) == 3 else (c[0], c[1], True) for c in CORPUS]

INTERESTING = [
    b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b",", b"\x00", b"\x7f", b"\x80", b"\xff",
    b"\x0b", b"\x0c", b"0", b"9", b"a", b"F", b"-", b"+", b'"', b"=", b"/", b"?", b"#", b"%",
    b"@", b"[", b"]", b"\\", b"HTTP/1.1", b"HTTP/1.0", b"chunked", b"Content-Length: 5\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Host: b\r\n", b"0\r\n\r\n", b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"ffffffffffffffffff", b"keep-alive", b"close",
    b" \t", b"\r\n ", b";a=b", b"http://a", b"*",
]


def mutate(rng, data, corpus):
    """One to four random edits of `data`."""
    data = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        op = rng.randrange(10)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a bit
            pos = min(pos, len(data) - 1)
            data[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # replace a byte
            pos = min(pos, len(data) - 1)
            data[pos] = rng.choice(INTERESTING[:12])[0] if rng.random() < 0.7 else rng.randrange(256)
        elif op in (2, 3):  # insert interesting bytes
            data[pos:pos] = rng.choice(INTERESTING)
        elif op == 4 and data:  # delete a few bytes
            del data[pos:pos + rng.randint(1, 4)]
        elif op == 5 and data:  # duplicate a range
            n = rng.randint(1, 16)
            data[pos:pos] = data[max(0, pos - n):pos]
        elif op == 6 and data:  # swap the case of a letter
            pos = min(pos, len(data) - 1)
            if chr(data[pos]).isalpha():
                data[pos] ^= 0x20
        else:  # line edits, and splices with another case
            lines = bytes(data).split(b"\n")
            if op == 7 and len(lines) > 1:
                i = rng.randrange(len(lines))
                lines.insert(i, lines[i])
            elif op == 8 and len(lines) > 1:
                del lines[rng.randrange(len(lines))]
            elif len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            if op == 9 and rng.random() < 0.5:
                other = rng.choice(corpus)[1].split(b"\n")
                cut, at = rng.randrange(len(lines) + 1), rng.randrange(len(other) + 1)
                lines = lines[:cut] + other[at:]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def cases(count, seed):
    """The first `count` requests: the corpus, then its mutations."""
    out = [(name, data) for name, data, _ in CORPUS][:count]
    base = [c for c in CORPUS if c[2]]
    rng = random.Random(seed)
    while len(out) < count:
        name, data, _ = rng.choice(base)
        out.append((f"{name}~{len(out)}", mutate(rng, data, base)))
    return out


# ---------------------------------------------------------------------------------------------
# Setting up and starting the origins


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def ensure_h11():
    """A Python that imports h11 at the pinned version: `[python, extra PYTHONPATH]`."""
    check = f"import h11, sys; sys.exit(h11.__version__ != {H11_VERSION!r})"
    venv_python = WORK / "venv" / "bin" / "python"
    if venv_python.exists() and subprocess.run([venv_python, "-c", check]).returncode == 0:
        return [str(venv_python)], None
    lib = WORK / "h11-lib"
    if lib.exists() and subprocess.run([sys.executable, "-c", check],
                                       env={**os.environ, "PYTHONPATH": str(lib)}).returncode == 0:
        return [sys.executable], str(lib)
    WORK.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK / "venv", ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", WORK / "venv"]).returncode == 0
    if not made and os.geteuid() == 0 and shutil.which("apt-get"):
        # Debian's python3 keeps ensurepip in python3-venv.
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "python3-venv", "python3-pip"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        shutil.rmtree(WORK / "venv", ignore_errors=True)
        made = subprocess.run([sys.executable, "-m", "venv", WORK / "venv"]).returncode == 0
    if made:
        run([venv_python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             f"h11=={H11_VERSION}"])
        return [str(venv_python)], None
    run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--target", lib, f"h11=={H11_VERSION}"])
    return [sys.executable], str(lib)


def build(args):
    """The three commands that start the origins (each takes the port as its last word)."""
    profile = ["--release"] if args.release else []
    kind = "release" if args.release else "debug"
    ours = args.ours
    if ours is None:
        run(["cargo", "build", "--locked", "-q", "-p", "http-server", *profile], cwd=ROOT)
        ours = TARGET / kind / "http-server"
    hyper_target = WORK / "hyper-origin"
    run(["cargo", "build", "--locked", "-q", *profile, "--manifest-path",
         ROOT / "diff" / "hyper-origin" / "Cargo.toml"],
        env={**os.environ, "CARGO_TARGET_DIR": str(hyper_target)})
    python, pythonpath = ensure_h11()
    return {
        "ours": ([str(ours), "--echo", "-b", "127.0.0.1", "-p", "HTTP/1.1", "--quiet"], None),
        "hyper": ([str(hyper_target / kind / "hyper-origin")], None),
        "h11": ([*python, str(ROOT / "diff" / "h11_origin.py")], pythonpath),
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HyperErrors:
    """hyper's connection errors, read from its stderr (`error PORT DEBUG`) by client port."""

    def __init__(self, stream):
        self.errors = {}
        self.cond = threading.Condition()
        threading.Thread(target=self.read, args=(stream,), daemon=True).start()

    def read(self, stream):
        for line in stream:
            parts = line.decode("utf-8", "replace").rstrip("\n").split(" ", 2)
            if len(parts) == 3 and parts[0] == "error" and parts[1].isdigit():
                with self.cond:
                    self.errors[int(parts[1])] = parts[2]
                    self.cond.notify_all()

    def forget(self, port):
        """A new connection from `port`: what an earlier one from there logged is stale."""
        with self.cond:
            self.errors.pop(port, None)

    def take(self, port, wait=1.0):
        deadline = time.monotonic() + wait
        with self.cond:
            while port not in self.errors and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return self.errors.pop(port, None)


class Origins:
    def __init__(self, commands):
        self.procs, self.ports = [], {}
        self.hyper_errors = None
        for name, (cmd, pythonpath) in commands.items():
            port = free_port()
            env = dict(os.environ)
            if pythonpath:
                env["PYTHONPATH"] = pythonpath
            stderr = subprocess.PIPE if name == "hyper" else subprocess.DEVNULL
            proc = subprocess.Popen([*cmd, str(port)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=stderr, env=env)
            self.procs.append(proc)
            self.ports[name] = port
            if name == "hyper":
                self.hyper_errors = HyperErrors(proc.stderr)
        self.ports["ours-split"] = self.ports["ours"]
        deadline = time.monotonic() + 30
        for name, port in self.ports.items():
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        self.stop()
                        sys.exit(f"the {name} origin did not start on port {port}")
                    time.sleep(0.05)

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---------------------------------------------------------------------------------------------
# Sending and reading


def exchange(ports, data, quiet, hyper_errors=None):
    """Sends `data` on a fresh connection to each port at once and reads what comes back.
    When an origin has been quiet for `quiet` seconds, our side of its connection is shut
    (the request is all there is), and reading goes on: an origin still waiting for more
    then answers or closes. For each origin: the bytes received, how the connection ended
    (`close`, `reset`, or `wait` if it stayed open another `quiet` seconds after our end of
    stream) and the client's port."""
    sel = selectors.DefaultSelector()
    state = {}
    for name, port in ports.items():
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state[name] = {"sock": s, "data": bytearray(), "end": None, "shut": False,
                       "port": s.getsockname()[1]}
        if name == "hyper" and hyper_errors:
            hyper_errors.forget(state[name]["port"])
    for name, st in state.items():
        try:
            st["sock"].settimeout(3)
            if name == "ours-split" and len(data) > 1:
                cut = random.Random(data).randrange(1, len(data))
                st["sock"].sendall(data[:cut])
                time.sleep(0.02)
                st["sock"].sendall(data[cut:])
            else:
                st["sock"].sendall(data)
        except OSError:
            pass  # the origin may refuse and close before it has read everything
        st["sock"].setblocking(False)
        st["last"] = time.monotonic()
        sel.register(st["sock"], selectors.EVENT_READ, st)
    while sel.get_map():
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            st = key.data
            if now - st["last"] < quiet:
                continue
            if st["shut"]:
                st["end"] = "wait"
                sel.unregister(st["sock"])
                continue
            st["shut"] = True
            st["last"] = now
            try:
                st["sock"].shutdown(socket.SHUT_WR)
            except OSError:
                pass
        if not sel.get_map():
            break
        timeout = min(quiet - (now - k.data["last"]) for k in sel.get_map().values())
        for key, _ in sel.select(max(timeout, 0.001)):
            st = key.data
            try:
                chunk = st["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                st["end"] = "reset"
                sel.unregister(st["sock"])
                continue
            if not chunk:
                st["end"] = "close"
                sel.unregister(st["sock"])
            else:
                st["data"] += chunk
                st["last"] = time.monotonic()
    sel.close()
    for st in state.values():
        st["sock"].close()
    return {name: (bytes(st["data"]), st["end"], st["port"]) for name, st in state.items()}


def b64(value):
    return base64.b64decode(value.encode("ascii"), validate=True)


def echo_of(body):
    """The request an echo JSON describes, or None."""
    try:
        doc = json.loads(body)
        return {
            "method": b64(doc["method"]),
            "uri": b64(doc["uri"]),
            "version": b64(doc["version"]),
            "headers": [(b64(n), b64(v)) for n, v in doc["headers"]],
            "body": b64(doc["body"]),
        }
    except (ValueError, KeyError, TypeError):
        return None


def parse_answers(data):
    """The responses in `data`: `(status, reason, headers, body)`; 1xx are skipped. A stream
    that does not start with a status line is an HTTP/0.9 answer (status None)."""
    out = []
    while data:
        if not data.startswith(b"HTTP/"):
            out.append((None, "", {}, data))
            break
        end = data.find(b"\r\n\r\n")
        if end < 0:
            out.append((0, "truncated answer", {}, b""))
            break
        lines = data[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            out.append((0, "bad status line", {}, b""))
            break
        reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        rest = data[end + 4:]
        if 100 <= status < 200:
            data = rest
            continue
        if b"content-length" in headers:
            n = int(headers[b"content-length"])
            body = rest[:n]
            json_type = headers.get(b"content-type") == b"application/json"
            if json_type and (len(body) < n or not body.startswith(b'{"')):
                body = b""  # the answer to HEAD: the length of the JSON, without it
                n = 0
            data = rest[n:]
        else:
            body, data = rest, b""
        out.append((status, reason, headers, body))
    return out


def clean(text):
    """A rejection's message without the parts that quote the request."""
    text = re.sub(r"\s*\((received|expected|'|\").*$", "", text)
    text = re.sub(r":\s*(bytearray\(|b'|b\").*$", "", text)
    text = re.sub(r"\s*\(.*?\)\s*$", "", text)
    return text.strip()


def outcomes(name, raw, hyper_errors):
    """The outcomes of one connection: ('accept', request), ('reject', reason), then
    ('close',) or ('wait',) unless a rejection ended it."""
    data, end, port = raw
    out = []
    for status, reason, headers, body in parse_answers(data):
        if status is None or status == 200:
            request = echo_of(body) if body else None
            if status is None and request is not None:
                request["version"] = request["version"] or b"(HTTP/0.9)"
            out.append(("accept", request))
            continue
        text = body.decode("utf-8", "replace")
        if name in ("ours", "ours-split"):
            why = f"{status} {clean(reason)}"
        elif name == "h11":
            why = f"{status} {clean(text)}"
        else:
            error = text or hyper_errors.take(port) or ""
            error = re.sub(r"^(body: )?hyper::Error\((.*)\)$", r"\1\2", error)
            error = re.sub(r'Custom \{ kind: \w+, error: "(.*?)" \}', r"\1", error)
            why = f"{status} {error}".strip()
        out.append(("reject", why))
        return out
    if end in ("close", "reset"):
        out.append(("close",))
    else:
        out.append(("wait",))
    return out


# ---------------------------------------------------------------------------------------------
# Comparing


def norm_target(uri):
    m = re.match(rb"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$", uri, re.S)
    if not m:
        return uri
    rest = m.group(3)
    if not rest.startswith(b"/"):
        rest = b"/" + rest
    return m.group(1).lower() + b"://" + m.group(2) + rest


def norm_headers(headers):
    kept = [(n.lower(), v) for n, v in headers
            if n.lower() not in (b"content-length", b"transfer-encoding")]
    return sorted(kept, key=lambda f: f[0])


FIELDS = (("method", lambda r: r["method"]), ("target", lambda r: norm_target(r["uri"])),
          ("version", lambda r: r["version"]), ("headers", lambda r: norm_headers(r["headers"])),
          ("body", lambda r: r["body"]))


def describe(item, first):
    kind = item[0]
    if kind == "accept":
        return "accepts"
    if kind == "reject":
        return f"rejects ({item[1]})"
    if kind == "wait":
        return "ignores the end of the request stream"
    return "rejects (closes without an answer)" if first else "closes"


def classify(name, ours, theirs, data):
    """The class of the first disagreement between our outcomes and `name`'s, or None: who
    did what, then in brackets what RFC 9112 says of the request it is about."""
    cls = disagreement(name, ours, theirs)
    if cls is None:
        return None
    kind, i = cls
    if kind.startswith(("ours closes", "ours accepts, " + name + " closes")):
        # About whether the connection persists after the request before.
        return f"{name}: {kind} [request before: {rfc9112.judge(data, i - 1)}]"
    verdict = rfc9112.judge(data, i)
    if verdict.startswith("flaw") and kind.startswith("ours rejects"):
        # A request that breaks a rule of RFC 9112, refused: whichever rule we named, the
        # class is the rule the request breaks first.
        kind = re.sub(r"^ours rejects \(.*\), ", "ours rejects, ", kind)
    return f"{name}: {kind} [{verdict}]"


def disagreement(name, ours, theirs):
    """The first disagreement and the index of the request it is about, or None."""
    for i in range(max(len(ours), len(theirs))):
        a = ours[i] if i < len(ours) else ("close",)
        b = theirs[i] if i < len(theirs) else ("close",)
        rejected = ("reject", "close")
        if a[0] in rejected and b[0] in rejected:
            return None
        if a[0] == b[0] == "wait":
            return None
        if a[0] == b[0] == "accept":
            if a[1] is None or b[1] is None:  # an answer to HEAD: no JSON to compare
                if (a[1] is None) != (b[1] is None):
                    return "both accept, one answer has no echo", i
                continue
            for field, get in FIELDS:
                if get(a[1]) != get(b[1]):
                    return f"both accept, {field} differs", i
            continue
        return f"ours {describe(a, i == 0)}, {name} {describe(b, i == 0)}", i
    return None


def compare(raws, hyper_errors, data):
    results = {name: outcomes(name, raws[name], hyper_errors) for name in ORIGINS}
    classes = {name: classify(name, results["ours"], results[name], data)
               for name in ORIGINS[1:]}
    return results, classes


def timing_sensitive(raws):
    """Whether a connection stayed open or was reset: outcomes a busy machine can cause."""
    return any(end in ("wait", "reset") for _, end, _ in raws.values())


# ---------------------------------------------------------------------------------------------
# Minimising


def minimise(data, name, cls, origins, budget, quiet):
    """A shorter request that gives the same class against `name` (greedy: whole lines, then
    ever smaller runs of bytes), at most `budget` exchanges."""
    ports = {"ours": origins.ports["ours"], name: origins.ports[name]}
    tries = 0

    def same(candidate):
        nonlocal tries
        tries += 1
        raws = exchange(ports, candidate, quiet, origins.hyper_errors)
        ours = outcomes("ours", raws["ours"], origins.hyper_errors)
        theirs = outcomes(name, raws[name], origins.hyper_errors)
        return classify(name, ours, theirs, candidate) == cls

    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and tries < budget:
        candidate = b"\n".join(lines[:i] + lines[i + 1:])
        if len(lines) > 1 and candidate and same(candidate):
            del lines[i]
        else:
            i += 1
    data = b"\n".join(lines)
    size = len(data) // 2
    while size >= 1 and tries < budget:
        i = 0
        while i < len(data) and tries < budget:
            candidate = data[:i] + data[i + size:]
            if candidate and same(candidate):
                data = candidate
            else:
                i += size
        size //= 2
    return data


# ---------------------------------------------------------------------------------------------
# Explanations


def load_explained():
    """`diff/explained.txt`: `ID[, ID...] | class` lines. Every ID must name an entry of the
    differential section of docs/SECURITY.md (a table row starting `| ID |`)."""
    explained, problems = {}, []
    security = SECURITY.read_text(encoding="utf-8")
    for n, line in enumerate(EXPLAINED.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ident, sep, cls = (part.strip() for part in line.partition("|"))
        if not sep or not ident or not cls:
            problems.append(f"{EXPLAINED.name}:{n}: not `ID | class`")
            continue
        for one in (i.strip() for i in ident.split(",")):
            if f"| {one} |" not in security:
                problems.append(f"{EXPLAINED.name}:{n}: {one} is not in docs/SECURITY.md")
        if cls.startswith("ours-split:"):
            problems.append(f"{EXPLAINED.name}:{n}: ours-split disagreements are bugs")
        explained[cls] = ident
    return explained, problems


def show(data, limit=240):
    text = repr(data)[2:-1]
    return text if len(text) <= limit else text[:limit] + f"... ({len(data)} bytes)"


def show_outcomes(items):
    out = []
    for item in items:
        if item[0] == "accept":
            r = item[1]
            if r is None:
                out.append("200 (no echo)")
            else:
                fields = ", ".join(f"{n}={show(v, 40)}" for n, v in r["headers"])
                out.append(f"200 {show(r['method'], 20)} {show(r['uri'], 40)} "
                           f"{show(r['version'], 20)} [{fields}] body={show(r['body'], 40)}")
        elif item[0] == "reject":
            out.append(item[1])
        else:
            out.append(item[0])
    return " / ".join(out)


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests to send (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the mutations (default 1)")
    parser.add_argument("--jobs", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--quiet", type=float, default=0.25,
                        help="seconds without a byte after which an origin is taken to wait")
    parser.add_argument("--release", action="store_true", help="build the origins in release")
    parser.add_argument("--ours", type=Path, help="our binary (default: build it)")
    parser.add_argument("--minimise", type=int, default=150, metavar="TRIES",
                        help="exchanges to spend minimising each class's example (0: none)")
    parser.add_argument("--markdown", type=Path, help="also write the summary as Markdown here")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print up to N cases of each class, not just one example")
    parser.add_argument("--dump", type=Path,
                        help="write every disagreeing case (JSON lines) to this file")
    args = parser.parse_args()

    explained, problems = load_explained()
    if problems:
        sys.exit("\n".join(problems))
    origins = Origins(build(args))
    started = time.monotonic()
    try:
        work = cases(args.count, args.seed)
        ports = origins.ports

        resent = []

        def one(case):
            name, data = case
            raws = exchange(ports, data, args.quiet, origins.hyper_errors)
            results, classes = compare(raws, origins.hyper_errors, data)
            if any(classes.values()) and timing_sensitive(raws):
                # A loaded machine could explain it: ask again, patiently.
                resent.append(name)
                raws = exchange(ports, data, 2.0, origins.hyper_errors)
                results, classes = compare(raws, origins.hyper_errors, data)
            return name, data, results, classes

        with ThreadPoolExecutor(args.jobs) as pool:
            done = list(pool.map(one, work))
        sent_time = time.monotonic() - started

        by_class = {}
        agree = {name: 0 for name in ORIGINS[1:]}
        all_agree = 0
        # Not disagreements, but what a reference reading of RFC 9112 calls flawed and ours
        # took all the same (the others may have too): where we are lenient.
        lenient = {}
        for name, data, results, classes in done:
            for i, item in enumerate(results["ours"]):
                if item[0] == "accept" and (verdict := rfc9112.judge(data, i)).startswith("flaw"):
                    lenient.setdefault(verdict, []).append((name, data))
            if not any(classes.values()):
                all_agree += 1
            for other, cls in classes.items():
                if cls is None:
                    agree[other] += 1
                else:
                    by_class.setdefault(cls, []).append((name, data, results))

        def example(cls):
            members = by_class[cls]
            name, data, results = min(members, key=lambda m: (len(m[1]), m[0]))
            other = cls.split(":", 1)[0]
            if args.minimise:
                quiet = 1.0 if "ignores" in cls else args.quiet
                small = minimise(data, other, cls, origins, args.minimise, quiet)
                if small != data:
                    raws = exchange({"ours": ports["ours"], other: ports[other]}, small, 2.0,
                                    origins.hyper_errors)
                    ours = outcomes("ours", raws["ours"], origins.hyper_errors)
                    theirs = outcomes(other, raws[other], origins.hyper_errors)
                    if classify(other, ours, theirs, small) == cls:
                        data, results = small, {"ours": ours, other: theirs}
            return cls, name, data, results

        with ThreadPoolExecutor(min(args.jobs, 8)) as pool:
            examples = {cls: (n, d, r) for cls, n, d, r in pool.map(example, sorted(by_class))}
    finally:
        origins.stop()

    total = len(done)
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as f:
            for name, data, results, classes in done:
                if any(classes.values()):
                    f.write(json.dumps({
                        "name": name, "data": data.decode("latin-1"),
                        "classes": [c for c in classes.values() if c],
                        "outcomes": {o: show_outcomes(r) for o, r in results.items()},
                    }) + "\n")
    unexplained = [cls for cls in by_class if cls not in explained]
    lines = [f"requests sent: {total} (seed {args.seed}), each to ours, hyper, h11 and to ours "
             f"in two writes, in {sent_time:.0f} s ({len(resent)} sent again, patiently)",
             f"all agree: {all_agree}",
             *(f"ours and {other} agree: {agree[other]}" for other in ORIGINS[1:]),
             f"disagreement classes: {len(by_class)} ({len(unexplained)} unexplained)", ""]
    for cls in sorted(by_class, key=lambda c: (-len(by_class[c]), c)):
        name, data, results = examples[cls]
        other = cls.split(":", 1)[0]
        tag = explained.get(cls, "UNEXPLAINED")
        lines.append(f"[{tag}] {len(by_class[cls])} x {cls}")
        lines.append(f"    e.g. {show(data)}   ({name.split('~')[0]})")
        lines.append(f"    ours:  {show_outcomes(results['ours'])}")
        lines.append(f"    {other}: {show_outcomes(results[other])}")
        for name, data, results in by_class[cls][:args.show]:
            lines.append(f"      - {name}: {show(data, 160)}")
    if lenient:
        lines += ["", "accepted by ours although RFC 9112 (diff/rfc9112.py) calls it flawed:"]
        for verdict in sorted(lenient, key=lambda v: -len(lenient[v])):
            name, data = min(lenient[verdict], key=lambda m: (len(m[1]), m[0]))
            lines.append(f"  {len(lenient[verdict])} x [{verdict}]  e.g. {show(data)}")
    print("\n".join(lines))
    if args.markdown:
        write_markdown(args, total, all_agree, agree, by_class, examples, explained, lenient)
    if unexplained:
        print(f"\n{len(unexplained)} disagreement class(es) not in diff/explained.txt: each must "
              "be fixed, or explained in docs/SECURITY.md and listed there.", file=sys.stderr)
        sys.exit(1)


def write_markdown(args, total, all_agree, agree, by_class, examples, explained, lenient):
    def code(data):
        return "`" + show(data, 120).replace("|", "\\|").replace("`", "'") + "`"

    out = [f"`diff/run.py --count {args.count} --seed {args.seed}`, "
           f"{time.strftime('%Y-%m-%d')}: {total} requests, each sent to ours, hyper, h11 and "
           "to ours in two writes.",
           "", "| | requests |", "|---|---:|", f"| sent | {total} |",
           f"| all agree | {all_agree} |",
           *(f"| ours and {o} agree | {agree[o]} |" for o in ORIGINS[1:]), "",
           "| class | requests | explanation | example (minimised) |", "|---|---:|---|---|"]
    for cls in sorted(by_class, key=lambda c: (-len(by_class[c]), c)):
        out.append(f"| {cls.replace('|', '/')} | {len(by_class[cls])} | "
                   f"{explained.get(cls, '**unexplained**')} | {code(examples[cls][1])} |")
    if lenient:
        out += ["", "Accepted by ours although the reference reading (`diff/rfc9112.py`) calls "
                "the request flawed:", "", "| verdict | requests | example |", "|---|---:|---|"]
        for verdict in sorted(lenient, key=lambda v: -len(lenient[v])):
            data = min(lenient[verdict], key=lambda m: (len(m[1]), m[0]))[1]
            out.append(f"| {verdict} | {len(lenient[verdict])} | {code(data)} |")
    args.markdown.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
