#!/usr/bin/env python3
"""A loopback stand-in for an OpenAI-compatible chat server, for testing a client's protocol and error handling.

Usage: python3 scripts/chat_stub_server.py [--port 0]
Prints `http://127.0.0.1:PORT` once listening; runs until SIGTERM. The first path segment picks a behaviour
(`POST /<scenario>/v1/chat/completions`); besides flaky, down, notjson and hang (see stub_server.py), the answer's
content is:
  json        a canned JSON object for the request's `response_format.json_schema.name` (workflow, reflection,
              judgement), or for `workflow` when there is none
  tagged      every tagged answer at once (<Workflow>, <Diagnosis>, <Score>, <Reason>) with chatter around them
  nochoices   200 with a JSON object without `choices`
  length      like json, cut in the middle, finish_reason "length"
  huge        100,000 characters
  filter      like json, finish_reason "content_filter"
  controls    like json, with a NUL, an escape sequence and a bell in the diagnosis and the reason
  boolscore   a judgement whose score is `true`
  halfscore   a judgement whose score is 7.5
  badrequest  400 with an OpenAI-style error message
`GET /requests` returns every chat request body so far, as a JSON list.
"""
import json

from stub_server import StubHandler, serve

CANNED = {
    "workflow": {"workflow": ["go to the [OBJECT2]", "take the [OBJECT1]"]},
    "reflection": {"diagnosis": "It took the wrong object.", "workflow": ["check the object first", "take it"]},
    "judgement": {"score": 7, "reason": "reached the goal"},
}


class Handler(StubHandler):
    route = ("v1", "chat", "completions")

    def record(self, body):
        return body

    def answer(self, content, finish="stop"):
        self.reply(200, {"id": "stub", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

    def respond(self, scenario, seen, body):
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("name", "workflow")
        reply = json.dumps(CANNED.get(schema, {}))
        if scenario == "nochoices":
            return self.reply(200, {"object": "chat.completion"})
        if scenario == "badrequest":
            return self.reply(400, {"error": {"message": "the request exceeds the available context size"}})
        if scenario == "tagged":
            return self.answer(
                "Sure! Here it is.\n<Diagnosis>It took the wrong object.</Diagnosis>\n<Workflow>\n1. step one\n"
                "2. step two\n</Workflow>\n<Score>7</Score> <Reason>reached the goal</Reason> Good luck.")
        if scenario == "length":
            return self.answer(reply[: len(reply) // 2], "length")
        if scenario == "huge":
            return self.answer("x" * 100_000)
        if scenario == "filter":
            return self.answer(reply, "content_filter")
        if scenario == "controls":
            hostile = "bad\u0000thing \u001b[31mRED\u001b[0m\u0007"
            return self.answer(json.dumps(
                {"diagnosis": hostile, "workflow": ["check the object first"], "score": 7, "reason": hostile}))
        if scenario in ("boolscore", "halfscore"):
            return self.answer(json.dumps({"score": True if scenario == "boolscore" else 7.5, "reason": "fine"}))
        self.answer(reply)


if __name__ == "__main__":
    serve(Handler)
