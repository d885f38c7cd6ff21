#!/usr/bin/env python3
"""Run CPython's own http.server tests against our `http-server` binary.

Imports the interpreter's `test.test_httpservers`, replaces the in-process server fixture of
`BaseTestCase` (a `TestServerThread` running `http.server.HTTPServer`) with a real
`http-server` process, and runs the black-box classes SimpleHTTPServerTestCase and
CGIHTTPServerTestCase with unittest.

The fixture is lazy: the process starts at a test's first request, serving `os.getcwd()` at
that moment (CPython's SimpleHTTPRequestHandler serves the cwd of each request; the tests
chdir into their temp tree after the fixture is set up). For the CGI class it gets `--cgi`,
plus one `--cgi-dir` per entry of `CGIHTTPRequestHandler.cgi_directories` when a test changed
that list (test_cgi_path_in_sub_directories). If the cwd or the CGI directories change within
a test, the process is restarted. The few tests in COMPAT_TESTS, which assert parsing the
strict default refuses on purpose (or CPython's ignoring of If-None-Match), get `--compat`.

Usage: cpython_runner.py --binary PATH [--runtime std] [--logs DIR] [--test-file F] [-k PATTERN]...
Exit status 0 only if every test passes (skips are listed).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CLASSES = ("SimpleHTTPServerTestCase", "CGIHTTPServerTestCase")
DEFAULT_CGI_DIRS = ["/cgi-bin", "/htbin"]
# Tests that assert CPython's lenient parsing, which the strict default refuses on purpose
# (README, "Where we differ from CPython"): a target without its leading slash (`GET a.txt`)
# is in none of RFC 9112's request-target forms. test_browser_cache_with_If_None_Match_header
# asserts that `If-None-Match: *` is ignored (200), where the default mode evaluates it as RFC 9110
# 13.1.2 says (`*` matches the file: 304); its other half, If-Modified-Since ignored when
# If-None-Match is present, holds in both modes. They run against `--compat`.
COMPAT_TESTS = {
    "test_path_without_leading_slash",
    "test_no_leading_slash",
    "test_browser_cache_with_If_None_Match_header",
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OurServer:
    """One `http-server` process; stderr goes to a log file."""

    def __init__(self, binary, runtime, directory, cgi, cgi_dirs, log_path, env, compat=False):
        self.directory = directory
        self.cgi_dirs = list(cgi_dirs)
        self.log_path = log_path
        last = ""
        for _ in range(5):
            port = free_port()
            argv = [binary, str(port), "--bind", "127.0.0.1", "--directory", directory, "--runtime", runtime]
            if compat:
                argv.append("--compat")
            if cgi:
                argv.append("--cgi")
                if cgi_dirs != DEFAULT_CGI_DIRS:
                    for d in cgi_dirs:
                        argv += ["--cgi-dir", d]
            self.argv = argv
            self.log = open(log_path, "ab")
            self.log.write(("$ " + " ".join(argv) + "\n").encode())
            self.log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=self.log, env=env)
            banner = self._banner(timeout=15)
            if banner is not None:
                self.banner = banner
                self.host, self.port = "127.0.0.1", port
                return
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            with open(log_path, "rb") as f:
                last = f.read().decode("utf-8", "replace")[-2000:]
            if "in use" not in last:
                break
        raise RuntimeError("http-server did not start: %s" % last)

    def _banner(self, timeout):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0].startswith(b"Serving HTTP on "):
            return None
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        return result[0].decode()

    def stop(self):
        """SIGTERM; returns a problem description or None."""
        problem = None
        if self.proc.poll() is not None:
            problem = "http-server exited early with status %s" % self.proc.returncode
        else:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = "http-server did not exit within 20 s of SIGTERM"
            else:
                if self.proc.returncode != 0:
                    problem = "http-server exited with status %s after SIGTERM" % self.proc.returncode
        self.log.close()
        with open(self.log_path, "rb") as f:
            log = f.read()
        if b"panicked" in log:
            problem = (problem + "; " if problem else "") + "http-server panicked (see %s)" % self.log_path
        return problem


def install_fixture(mod, binary, runtime, logs):
    """Replace BaseTestCase's in-process server by our binary."""
    from test.support import os_helper, threading_helper

    base = mod.BaseTestCase
    original_request = base.request
    counter = [0]

    def wanted(self):
        cgi = isinstance(self, mod.CGIHTTPServerTestCase)
        dirs = list(mod.CGIHTTPRequestHandler.cgi_directories) if cgi else []
        return os.getcwd(), cgi, dirs

    def ensure_server(self):
        directory, cgi, dirs = wanted(self)
        server = getattr(self, "_our_server", None)
        if server is not None and (server.directory, server.cgi_dirs) == (directory, dirs):
            return
        if server is not None:
            self._our_problems.append(server.stop())
        counter[0] += 1
        log_path = os.path.join(logs, "%03d-%s.log" % (counter[0], self.id().rsplit(".", 1)[-1]))
        compat = self.id().rsplit(".", 1)[-1] in COMPAT_TESTS
        self._our_server = OurServer(binary, runtime, directory, cgi, dirs, log_path, dict(os.environ),
                                     compat)
        self.HOST, self.PORT = self._our_server.host, self._our_server.port

    def setUp(self):
        self._threads = threading_helper.threading_setup()
        os.environ = os_helper.EnvironmentVarGuard()
        self._our_server = None
        self._our_problems = []
        # Tests that talk to self.HOST/PORT without request() get a clear error.
        self.HOST, self.PORT = "127.0.0.1", 9

    def tearDown(self):
        server = self._our_server
        self._our_server = None
        if server is not None:
            self._our_problems.append(server.stop())
        os.environ.__exit__()
        threading_helper.threading_cleanup(*self._threads)
        problems = [p for p in self._our_problems if p]
        if problems:
            self.fail("; ".join(problems))

    def request(self, *args, **kwargs):
        ensure_server(self)
        return original_request(self, *args, **kwargs)

    base.setUp = setUp
    base.tearDown = tearDown
    base.request = request


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runtime", default="std")
    parser.add_argument("--logs", default=None, help="directory for per-test server logs")
    parser.add_argument("--test-file", default=None,
                        help="a test_httpservers.py to run instead of the interpreter's own "
                             "(same minor version: it imports this interpreter's test.support)")
    parser.add_argument("-k", dest="patterns", action="append", default=[], help="only tests matching")
    args = parser.parse_args()

    binary = os.path.abspath(args.binary)
    logs = args.logs or tempfile.mkdtemp(prefix="http-server-cpython-logs-")
    os.makedirs(logs, exist_ok=True)

    if args.test_file:
        import importlib.util
        spec = importlib.util.spec_from_file_location("test.test_httpservers", args.test_file)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    else:
        import test.test_httpservers as mod

    install_fixture(mod, binary, args.runtime, logs)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(getattr(mod, name)) for name in CLASSES)

    print("CPython tests: %s (Python %s) against %s --runtime %s"
          % (mod.__file__, sys.version.split()[0], binary, args.runtime), flush=True)
    print("server logs: %s" % logs, flush=True)
    started = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    elapsed = time.monotonic() - started

    print()
    print("=" * 70)
    print("SUMMARY (--runtime %s): %d run, %d failures, %d errors, %d skipped, in %.1f s"
          % (args.runtime, result.testsRun, len(result.failures), len(result.errors),
             len(result.skipped), elapsed))
    for test, reason in result.skipped:
        print("  skipped  %s: %s" % (test.id(), reason))
    for kind, items in (("FAILED", result.failures), ("ERROR", result.errors)):
        for test, _ in items:
            print("  %-8s %s" % (kind, test.id()))
    for test in getattr(result, "unexpectedSuccesses", []):
        print("  UNEXPECTED SUCCESS %s" % test.id())
    ok = result.wasSuccessful() and result.testsRun > 0
    print("RESULT: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
