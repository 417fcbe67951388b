"""What the loopback OpenAI-compatible stub servers share (embedding_stub_server.py, chat_stub_server.py).

A stub answers `POST /<scenario>/<route>`; the first path segment picks a behaviour, so one server serves every
scenario of a test suite. The failure scenarios every stub knows:
  flaky       429 (Retry-After: 0) for the first 2 requests of that scenario, then the normal answer
  down        always 503
  notjson     200 with an HTML body
  hang        no answer at all: the request is held until the server stops, so a client's timeout is certain to
              fire however slow the machine is
  retrynan    503 with `Retry-After: nan` for the first 2 requests of that scenario, then the normal answer
  endless     200 with a chunked body that never ends (64 KiB chunks of spaces, until the client goes away)
  drip        200 announcing a 1 GB body, then one byte every 50 ms until the client goes away: only a limit on
              the whole answer's time ends it
  redirect    302 to the `flaky` scenario's endpoint on this server
`GET /requests` returns what the stub recorded of every request so far, as a JSON list.
"""
import argparse
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubHandler(BaseHTTPRequestHandler):
    """Subclasses set `route` (the path after the scenario) and define `record(body)` (what `GET /requests`
    lists for a request) and `respond(scenario, seen, body)` (the answer once the shared scenarios are handled)."""

    route = ()
    lock = threading.Lock()
    never = threading.Event()  # never set: what a `hang` request waits for
    recorded = []
    counts = {}

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/requests":
            with self.lock:
                self.reply(200, list(self.recorded))
        else:
            self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 1 + len(self.route) or tuple(parts[1:]) != tuple(self.route):
            return self.reply(404, {"error": {"message": f"unknown path {self.path}"}})
        scenario = parts[0]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with self.lock:
            self.counts[scenario] = self.counts.get(scenario, 0) + 1
            seen = self.counts[scenario]
            self.recorded.append(self.record(body))
        if scenario == "flaky" and seen <= 2:
            return self.reply(429, {"error": {"message": "rate limited"}}, [("Retry-After", "0")])
        if scenario == "down":
            return self.reply(503, {"error": {"message": "overloaded"}})
        if scenario == "notjson":
            return self.reply(200, b"<html>oops</html>")
        if scenario == "hang":
            self.never.wait()
            return
        if scenario == "retrynan" and seen <= 2:
            return self.reply(503, {"error": {"message": "overloaded"}}, [("Retry-After", "nan")])
        if scenario == "endless":
            return self.stream(b" " * 65536, chunked=True)
        if scenario == "drip":
            return self.stream(b" ", pause=0.05)
        if scenario == "redirect":
            target = "/flaky/" + "/".join(self.route)
            return self.reply(302, {"error": {"message": "moved"}}, [("Location", target)])
        self.respond(scenario, seen, body)

    def stream(self, piece, chunked=False, pause=0.0):
        """Sends `piece` over and over until the client disconnects."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(10 ** 9))
        self.end_headers()
        frame = (b"%x\r\n" % len(piece)) + piece + b"\r\n" if chunked else piece
        try:
            while True:
                self.wfile.write(frame)
                self.wfile.flush()
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(handler):
    """Listens on 127.0.0.1 (`--port`, default any free port), prints `http://127.0.0.1:PORT`, runs until
    SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    # A parent may spawn us with signals blocked (Foundation's Process on Linux passes its thread's mask on).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, _stop)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        server.server_close()


def _stop(*_):
    raise SystemExit(0)
