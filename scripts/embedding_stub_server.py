#!/usr/bin/env python3
"""A loopback stand-in for an OpenAI-compatible embeddings server, for testing a client's error handling.

Usage: python3 scripts/embedding_stub_server.py [--port 0]
Prints `http://127.0.0.1:PORT` once listening; runs until SIGTERM. The first path segment picks a behaviour
(`POST /<scenario>/v1/embeddings`); besides flaky, down, notjson and hang (see stub_server.py):
  ok          4-dimensional vectors [len(text), 1, 2, 3] (not normalized), listed in reverse order with `index`
  nodata      200 with a JSON object without `data`
  short       one embedding fewer than inputs
  grow        4 dimensions on the first request, 5 afterwards
  auth        401 unless `Authorization: Bearer memp-test-key`, then like ok
  badrequest  400 with an OpenAI-style error message
  bools       vectors of JSON booleans
  zeros       all-zero vectors
`GET /requests` returns the number of inputs of every embeddings request so far, as a JSON list.
"""
from stub_server import StubHandler, serve


class Handler(StubHandler):
    route = ("v1", "embeddings")

    def record(self, body):
        return len(body["input"])

    def respond(self, scenario, seen, body):
        inputs = body["input"]
        if scenario == "nodata":
            return self.reply(200, {"object": "list"})
        if scenario == "auth" and self.headers.get("Authorization") != "Bearer memp-test-key":
            return self.reply(401, {"error": {"message": "Incorrect API key provided"}})
        if scenario == "badrequest":
            return self.reply(400, {"error": {"message": "Input content cannot be empty"}})
        width = 5 if scenario == "grow" and seen > 1 else 4
        items = [{"object": "embedding", "index": i, "embedding": [float(len(text))] + [float(j) for j in range(1, width)]}
                 for i, text in enumerate(inputs)]
        if scenario == "short":
            items = items[:-1]
        if scenario == "bools":
            items = [dict(item, embedding=[True] * width) for item in items]
        if scenario == "zeros":
            items = [dict(item, embedding=[0.0] * width) for item in items]
        self.reply(200, {"object": "list", "model": body.get("model"), "data": list(reversed(items))})


if __name__ == "__main__":
    serve(Handler)
