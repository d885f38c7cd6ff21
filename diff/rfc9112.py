"""A reference reading of requests by the letter of RFC 9112 and RFC 9110, used by diff/run.py
to name what a disagreement is about: for each request in a stream of bytes, the first rule
it breaks (a *flaw*: a MUST or the grammar) or, when it breaks none, the first leeway it uses
(a *leniency*: something the RFCs let a recipient accept or refuse, such as a bare LF line
ending or a repeated identical Content-Length).

It judges; it is no server: it only has to be right about the requests the corpus and its
mutations produce, and plain to read next to the RFC text it cites.
"""

import ipaddress
import re

TCHAR = set(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
UNRESERVED = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
SUB_DELIMS = set(b"!$&'()*+,;=")
PCHAR = UNRESERVED | SUB_DELIMS | set(b":@")
HEXDIG = set(b"0123456789abcdefABCDEF")
REG_NAME = UNRESERVED | SUB_DELIMS


class Flaw(Exception):
    """The request breaks `rule`."""


class Incomplete(Exception):
    """The bytes end before the request does."""


def is_token(b):
    return len(b) > 0 and all(c in TCHAR for c in b)


def pct_ok(b, allowed):
    """Every byte is in `allowed` or starts a `%HH` escape."""
    i = 0
    while i < len(b):
        if b[i] == 0x25:
            if len(b[i + 1:i + 3]) < 2 or not all(c in HEXDIG for c in b[i + 1:i + 3]):
                return False
            i += 3
        elif b[i] in allowed:
            i += 1
        else:
            return False
    return True


def host_port(value):
    """`uri-host [ ":" port ]` (RFC 9110 7.2, RFC 3986 3.2.2): (host, port or None), or None."""
    if value.startswith(b"["):
        close = value.find(b"]")
        if close < 0:
            return None
        inside = value[1:close]
        if not re.fullmatch(rb"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+", inside):
            try:  # IPv6address; RFC 3986 has no zone identifier
                if b"%" in inside:
                    return None
                ipaddress.IPv6Address(inside.decode("ascii"))
            except ValueError:
                return None
        host, rest = value[:close + 1], value[close + 1:]
    else:
        end = len(value)
        for i, c in enumerate(value):
            if c not in REG_NAME and c != 0x25:
                end = i
                break
        host, rest = value[:end], value[end:]
        if not pct_ok(host, REG_NAME):
            return None
    if not rest:
        return host, None
    if rest[:1] == b":" and all(0x30 <= c <= 0x39 for c in rest[1:]):
        return host, rest[1:]
    return None


def check_target(method, target):
    """RFC 9112 3.2: the four forms; RFC 3986 for the characters. Returns a leeway or None."""
    if method == b"CONNECT":
        hp = host_port(target)
        if hp is None or not hp[0] or hp[1] is None:
            raise Flaw("CONNECT target not in authority-form (RFC 9112 3.2.3)")
        return None
    if target == b"*":
        if method != b"OPTIONS":
            raise Flaw("asterisk-form for a method other than OPTIONS (RFC 9112 3.2.4)")
        return None
    if target.startswith(b"/"):
        path, _, query = target.partition(b"?")
        if not pct_ok(path, PCHAR | {0x2f}) or not pct_ok(query, PCHAR | {0x2f, 0x3f}):
            raise Flaw("target bytes outside RFC 3986 (RFC 9112 3.2)")
        return None
    m = re.fullmatch(rb"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", target, re.S)
    if not m:
        raise Flaw("target in none of the four forms (RFC 9112 3.2)")
    scheme, rest = m.group(1).lower(), m.group(2)
    if not pct_ok(rest, PCHAR | {0x2f, 0x3f}):
        raise Flaw("target bytes outside RFC 3986 (RFC 9112 3.2)")
    if scheme in (b"http", b"https"):
        if not rest.startswith(b"//"):
            raise Flaw("http(s) URI without an authority (RFC 9110 4.2.1)")
        authority = re.split(rb"[/?]", rest[2:], maxsplit=1)[0]
        if b"@" in authority:
            raise Flaw("userinfo in an http(s) URI (RFC 9110 4.2.4)")
        hp = host_port(authority)
        if hp is None:
            raise Flaw("invalid authority in absolute-form (RFC 9110 4.2.1)")
        if not hp[0]:
            raise Flaw("http(s) URI with an empty host (RFC 9110 4.2.1)")
        return None
    return "leeway: absolute-form with a scheme other than http(s) (RFC 9112 3.2.2)"


def lines_of(data, pos):
    """The line at `pos`: (content, end of line, used a bare LF)."""
    lf = data.find(b"\n", pos)
    if lf < 0:
        raise Incomplete()
    line = data[pos:lf]
    bare = not line.endswith(b"\r")
    if not bare:
        line = line[:-1]
    return line, lf + 1, bare


def check_field_line(line, where):
    """RFC 9112 5.1, RFC 9110 5.5."""
    if line[:1] in (b" ", b"\t"):
        raise Flaw(f"obs-fold in {where} (RFC 9112 5.2: reject, or replace with SP)")
    if b"\r" in line:
        raise Flaw(f"bare CR in {where} (RFC 9112 2.2)")
    name, colon, value = line.partition(b":")
    if not colon:
        raise Flaw(f"{where} line without a colon (RFC 9112 5)")
    if name[-1:] in (b" ", b"\t"):
        raise Flaw(f"whitespace before the colon in {where} (RFC 9112 5.1)")
    if not is_token(name):
        raise Flaw(f"{where} name not a token (RFC 9110 5.1)")
    value = value.strip(b" \t")
    for c in value:
        if c in (0, 0x0a, 0x0d):
            raise Flaw(f"NUL, CR or LF in a {where} value (RFC 9110 5.5)")
        if (c < 0x20 and c != 0x09) or c == 0x7f:
            raise Flaw(f"control byte in a {where} value (RFC 9110 5.5)")
    return name, value


def read_fields(data, pos, where, notes):
    fields = []
    while True:
        line, pos, bare = lines_of(data, pos)
        if bare:
            notes.append("bare LF line ending (RFC 9112 2.2: MAY accept)")
        if not line:
            return fields, pos
        fields.append(check_field_line(line, where))


def one_request(data, pos, notes):
    """Checks the request at `pos`; returns where the next one starts. Raises `Flaw` at the
    first rule broken; a leeway the request uses is added to `notes` as `leeway: ...`, any
    other leniency as plain text."""
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request-line.
    start = pos
    while data.startswith(b"\r\n", pos) or data.startswith(b"\n", pos):
        pos += 2 if data.startswith(b"\r\n", pos) else 1
    if pos != start:
        notes.append("empty line before the request-line (RFC 9112 2.2: SHOULD ignore)")
    line, pos, bare = lines_of(data, pos)
    if bare:
        notes.append("bare LF line ending (RFC 9112 2.2: MAY accept)")
    if b"\r" in line:
        raise Flaw("bare CR in the request-line (RFC 9112 2.2)")
    parts = line.split(b" ")
    if len(parts) == 2 and parts[0] == b"GET" and parts[1]:
        notes.append("leeway: two-word HTTP/0.9 request-line (RFC 9112 has no HTTP/0.9)")
        return pos
    if len(parts) != 3 or not all(parts):
        raise Flaw("request-line not three parts split by single SPs (RFC 9112 3)")
    method, target, version = parts
    if not is_token(method):
        raise Flaw("method not a token (RFC 9112 3.1)")
    if any(c <= 0x20 or c == 0x7f for c in target):
        raise Flaw("whitespace or control byte in the target (RFC 9112 3.2)")
    m = re.fullmatch(rb"HTTP/([0-9])\.([0-9])", version)
    if not m:
        raise Flaw("HTTP-version not HTTP/DIGIT.DIGIT (RFC 9112 2.3)")
    major, minor = int(m.group(1)), int(m.group(2))
    if major != 1:
        notes.append("leeway: HTTP major version other than 1 (RFC 9110 15.6.6: 505)")
    elif minor > 1:
        notes.append("HTTP/1.x with x > 1 (RFC 9110 2.5: SHOULD read as HTTP/1.1)")
    leeway = check_target(method, target)
    if leeway:
        notes.append(leeway)
    fields, pos = read_fields(data, pos, "header", notes)
    names = [n.lower() for n, _ in fields]
    hosts = [v for n, v in fields if n.lower() == b"host"]
    if len(hosts) > 1 or (not hosts and major == 1 and minor >= 1):
        raise Flaw("no Host in HTTP/1.1, or more than one Host (RFC 9112 3.2)")
    if hosts and host_port(hosts[0]) is None:
        raise Flaw("Host value not uri-host[:port] (RFC 9112 3.2)")
    connection = [c.strip(b" \t").lower() for n, v in fields if n.lower() == b"connection"
                  for c in v.split(b",")]
    if minor == 0 and b"keep-alive" in connection and b"close" not in connection:
        notes.append("HTTP/1.0 keep-alive (RFC 9112 9.3, C.2.2)")
    te = [c.strip(b" \t").lower() for n, v in fields if n.lower() == b"transfer-encoding"
          for c in v.split(b",") if c.strip(b" \t")]
    has_te = b"transfer-encoding" in names
    if any(not c.strip(b" \t") for n, v in fields if n.lower() == b"transfer-encoding"
           for c in v.split(b",")):
        notes.append("empty list element (RFC 9110 5.6.1: MUST ignore)")
    has_cl = b"content-length" in names
    if has_te and minor == 0:
        raise Flaw("Transfer-Encoding in HTTP/1.0 (RFC 9112 6.1: faulty framing)")
    if has_te and has_cl and minor > 0:
        notes.append("leeway: Transfer-Encoding with Content-Length (RFC 9112 6.1: MAY reject)")
    if has_te:
        if not te or te[-1] != b"chunked":
            raise Flaw("final transfer coding not chunked (RFC 9112 6.3: 400)")
        if te.count(b"chunked") > 1:
            raise Flaw("chunked applied more than once (RFC 9112 7)")
        if len(te) > 1:
            notes.append("leeway: a transfer coding besides chunked (RFC 9112 6.1: SHOULD 501)")
        return read_chunked(data, pos, notes)
    if has_cl:
        values = [c.strip(b" \t") for n, v in fields if n.lower() == b"content-length"
                  for c in v.split(b",")]
        if not all(re.fullmatch(rb"[0-9]+", v) for v in values):
            raise Flaw("Content-Length not 1*DIGIT (RFC 9112 6.3: 400)")
        if len({int(v) for v in values}) > 1:
            raise Flaw("differing Content-Length values (RFC 9112 6.3: 400)")
        if len(values) > 1:
            notes.append("repeated identical Content-Length (RFC 9110 8.6: MAY accept)")
        length = int(values[0])
        if len(data) - pos < length:
            raise Incomplete()
        return pos + length
    return pos


def read_chunked(data, pos, notes):
    """RFC 9112 7.1."""
    ext = re.compile(rb'(?:[ \t]*;[ \t]*[!#$%&\'*+\-.^_`|~0-9A-Za-z]+'
                     rb'(?:[ \t]*=[ \t]*(?:[!#$%&\'*+\-.^_`|~0-9A-Za-z]+|"(?:[^"\\\x00-\x08'
                     rb'\x0a-\x1f\x7f]|\\[\x09\x20-\x7e\x80-\xff])*"))?)*')
    while True:
        lf = data.find(b"\n", pos)
        if lf < 0:
            raise Incomplete()
        if lf == pos or data[lf - 1] != 0x0d:
            raise Flaw("chunk line not ended by CRLF (RFC 9112 7.1)")
        line = data[pos:lf - 1]
        m = re.match(rb"[0-9A-Fa-f]+", line)
        if not m:
            raise Flaw("chunk-size not 1*HEXDIG (RFC 9112 7.1)")
        if not ext.fullmatch(line[m.end():]):
            raise Flaw("malformed chunk extension (RFC 9112 7.1.1)")
        if re.search(rb"[ \t]", line[m.end():].split(b'"', 1)[0]):
            notes.append("BWS in a chunk extension (RFC 9112 7.1.1 allows it)")
        size = int(m.group(0), 16)
        if size >= 1 << 63:
            notes.append("leeway: chunk-size beyond 63 bits (RFC 9112 7.1: guard overflow)")
            raise Incomplete()
        pos = lf + 1
        if size == 0:
            while True:
                lf = data.find(b"\n", pos)
                if lf < 0:
                    raise Incomplete()
                if lf == pos or data[lf - 1] != 0x0d:
                    raise Flaw("trailer line not ended by CRLF (RFC 9112 7.1.2)")
                line = data[pos:lf - 1]
                pos = lf + 1
                if not line:
                    return pos
                name, _ = check_field_line(line, "trailer")
                if name.lower() in (b"content-length", b"transfer-encoding", b"host"):
                    notes.append("framing or routing field in the trailers (RFC 9110 6.5.1: "
                                 "not to be merged)")
        if len(data) < pos + size + 2:
            raise Incomplete()
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise Flaw("chunk-data not followed by CRLF (RFC 9112 7.1)")
        pos += size + 2


def judge(data, index):
    """What RFC 9112 says of request number `index` in `data`: `flaw: ...` (the first rule it
    breaks), else its leeways and leniencies joined by `; ` (`leeway: ...` first), else
    `valid`; or `incomplete`."""
    pos = 0
    for i in range(index + 1):
        notes = []
        try:
            pos = one_request(data, pos, notes)
        except Flaw as e:
            return f"flaw: {e}" if i == index else "after a flawed request"
        except Incomplete:
            return "incomplete" if i == index else "after an incomplete request"
        if i == index:
            unique = sorted(set(notes), key=lambda n: (not n.startswith("leeway"), n))
            if len(unique) > 1:
                # Every origin here takes a bare LF in a head: never the point when there
                # is something else to say.
                unique = [n for n in unique if not n.startswith("bare LF")]
            return "; ".join(unique) if unique else "valid"
        if pos >= len(data):
            return "no such request"
    return "valid"
