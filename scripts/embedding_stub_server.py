#!/usr/bin/env python3
"""A loopback stand-in for an OpenAI-compatible embeddings server, for testing a client's error handling.

Usage: python3 scripts/embedding_stub_server.py [--port 0]
Prints `http://127.0.0.1:PORT` once listening; runs until SIGTERM. The first path segment picks a behaviour,
so one server serves every scenario (`POST /<scenario>/v1/embeddings`):
  ok          4-dimensional vectors [len(text), 1, 2, 3] (not normalized), listed in reverse order with `index`
  flaky       429 (Retry-After: 0) for the first 2 requests, then like ok
  down        always 503
  notjson     200 with an HTML body
  nodata      200 with a JSON object without `data`
  short       one embedding fewer than inputs
  grow        4 dimensions on the first request, 5 afterwards
  auth        401 unless `Authorization: Bearer memp-test-key`, then like ok
  badrequest  400 with an OpenAI-style error message
  slow        answers after 2 seconds
`GET /requests` returns the number of inputs of every embeddings request so far, as a JSON list.
"""
import argparse
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
batch_sizes = []
counts = {}


class Handler(BaseHTTPRequestHandler):
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
            with lock:
                self.reply(200, list(batch_sizes))
        else:
            self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[1:] != ["v1", "embeddings"]:
            return self.reply(404, {"error": {"message": f"unknown path {self.path}"}})
        scenario = parts[0]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        inputs = body["input"]
        with lock:
            counts[scenario] = counts.get(scenario, 0) + 1
            seen = counts[scenario]
            batch_sizes.append(len(inputs))
        width = 4
        if scenario == "flaky" and seen <= 2:
            return self.reply(429, {"error": {"message": "rate limited"}}, [("Retry-After", "0")])
        if scenario == "down":
            return self.reply(503, {"error": {"message": "overloaded"}})
        if scenario == "notjson":
            return self.reply(200, b"<html>oops</html>")
        if scenario == "nodata":
            return self.reply(200, {"object": "list"})
        if scenario == "auth" and self.headers.get("Authorization") != "Bearer memp-test-key":
            return self.reply(401, {"error": {"message": "Incorrect API key provided"}})
        if scenario == "badrequest":
            return self.reply(400, {"error": {"message": "Input content cannot be empty"}})
        if scenario == "slow":
            time.sleep(2)
        if scenario == "grow" and seen > 1:
            width = 5
        items = [{"object": "embedding", "index": i, "embedding": [float(len(text))] + [float(j) for j in range(1, width)]}
                 for i, text in enumerate(inputs)]
        if scenario == "short":
            items = items[:-1]
        self.reply(200, {"object": "list", "model": body.get("model"), "data": list(reversed(items))})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # A parent may spawn us with signals blocked (Foundation's Process on Linux passes its thread's mask on).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, stop)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        server.server_close()


def stop(*_):
    raise SystemExit(0)


if __name__ == "__main__":
    main()
