#!/usr/bin/env python3
"""A loopback stand-in for an OpenAI-compatible chat server, for testing a client's protocol and error handling.

Usage: python3 scripts/chat_stub_server.py [--port 0]
Prints `http://127.0.0.1:PORT` once listening; runs until SIGTERM. The first path segment picks a behaviour
(`POST /<scenario>/v1/chat/completions`); the answer's content is:
  json        a canned JSON object for the request's `response_format.json_schema.name` (workflow, reflection,
              judgement), or for `workflow` when there is none
  tagged      every tagged answer at once (<Workflow>, <Diagnosis>, <Score>, <Reason>) with chatter around them
  flaky       429 (Retry-After: 0) for the first 2 requests, then like json
  down        always 503
  notjson     200 with an HTML body
  nochoices   200 with a JSON object without `choices`
  length      like json, cut in the middle, finish_reason "length"
  huge        100,000 characters
  badrequest  400 with an OpenAI-style error message
  slow        answers after 2 seconds
`GET /requests` returns every chat request body so far, as a JSON list.
"""
import argparse
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANNED = {
    "workflow": {"workflow": ["go to the [OBJECT2]", "take the [OBJECT1]"]},
    "reflection": {"diagnosis": "It took the wrong object.", "workflow": ["check the object first", "take it"]},
    "judgement": {"score": 7, "reason": "reached the goal"},
}
lock = threading.Lock()
bodies = []
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
                self.reply(200, list(bodies))
        else:
            self.reply(404, {"error": {"message": "not found"}})

    def answer(self, content, finish="stop"):
        self.reply(200, {"id": "stub", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["v1", "chat", "completions"]:
            return self.reply(404, {"error": {"message": f"unknown path {self.path}"}})
        scenario = parts[0]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with lock:
            counts[scenario] = counts.get(scenario, 0) + 1
            seen = counts[scenario]
            bodies.append(body)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("name", "workflow")
        reply = json.dumps(CANNED.get(schema, {}))
        if scenario == "flaky" and seen <= 2:
            return self.reply(429, {"error": {"message": "rate limited"}}, [("Retry-After", "0")])
        if scenario == "down":
            return self.reply(503, {"error": {"message": "overloaded"}})
        if scenario == "notjson":
            return self.reply(200, b"<html>oops</html>")
        if scenario == "nochoices":
            return self.reply(200, {"object": "chat.completion"})
        if scenario == "badrequest":
            return self.reply(400, {"error": {"message": "the request exceeds the available context size"}})
        if scenario == "slow":
            time.sleep(2)
        if scenario == "tagged":
            return self.answer(
                "Sure! Here it is.\n<Diagnosis>It took the wrong object.</Diagnosis>\n<Workflow>\n1. step one\n"
                "2. step two\n</Workflow>\n<Score>7</Score> <Reason>reached the goal</Reason> Good luck.")
        if scenario == "length":
            return self.answer(reply[: len(reply) // 2], "length")
        if scenario == "huge":
            return self.answer("x" * 100_000)
        self.answer(reply)


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
