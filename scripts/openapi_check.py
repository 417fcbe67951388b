#!/usr/bin/env python3
"""Hold a running `memp serve` to docs/openapi.yaml.

    python3 scripts/openapi_check.py --url http://127.0.0.1:PORT --token TOKEN --memory ID \
        --timeout-url http://127.0.0.1:PORT2 --database STORE/memp.sqlite [--full-url http://127.0.0.1:PORT3]

The server at --url must serve one store holding a memory with the ID given by --memory, with `--token-file` (so
that 401 can be exercised) and `--max-body-bytes 65536`; the server at --timeout-url serves the same store with
the same token and `--lookup-timeout 1e-9`, so that every lookup outlasts its limit (503). --database is the
store's SQLite file: for 409, the check installs a trigger that changes the memory inside the update's transaction,
as another writer would between the update's read and its write, and removes it afterwards; for the `warnings` of
an answer, it puts a file where the store's index cache folder is, so that writes commit but can't save the cache,
and removes it afterwards. The server at --full-url serves a copy of the store, with the same token, on a file
system with no space left (507); without it, the statuses only it can answer are listed as skipped.

Validates the spec, sends one request for every documented operation and status, and checks each answer's status,
content type and body against the spec's schema. Prints one JSON summary; exits 1 on any mismatch or on a
documented status no request exercised.
"""
import argparse
import contextlib
import copy
import json
import pathlib
import shutil
import sqlite3
import sys
import urllib.error
import urllib.request

import jsonschema
import yaml
from openapi_spec_validator import validate

SPEC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
TRIGGER = "openapi_check_conflict"
# The error codes each error status may carry (docs/openapi.yaml, the Error schema's enum).
CODES = {"400": {"invalid_body", "invalid_argument", "limit_exceeded"}, "401": {"unauthorized"},
         "404": {"unknown_store", "unknown_memory", "not_found"}, "405": {"method_not_allowed"}, "409": {"conflict"},
         "413": {"body_too_large"}, "503": {"timeout"}, "507": {"storage_full"}}


def trajectory(identifier, task="water the tomato plants", success=True):
    return {"id": identifier, "task": task, "steps": [{"action": "fill the can"}, {"action": "water"}],
            "outcome": {"success": success}, "source": "openapi-check"}


def requests(memory):
    big = json.dumps({"task": "x" * 70000}).encode()
    failed = dict(trajectory("openapi-5", "dig a hole", success=False), usedMemories=[memory])
    return [
        # (documented path, method, actual path, body, authorized, expected status[, how])
        # how: "timeout" sends it to the server with the tiny lookup limit; "conflict" with the trigger installed;
        # "unsaved" with a file in place of the index cache folder (the answer must carry its warning); "full" to
        # the server whose disk is full.
        ("/healthz", "get", "/healthz", None, False, "200"),
        ("/metrics", "get", "/metrics", None, True, "200"),
        ("/metrics", "get", "/metrics", None, False, "401"),
        ("/stores", "get", "/v1/stores", None, True, "200"),
        ("/stores", "get", "/v1/stores", None, False, "401"),
        ("/stores", "get", "/v1/stores?all=1", None, True, "400"),  # a query parameter it doesn't read
        ("/lookup", "post", "/v1/lookup", {"task": "water the plants", "k": 2}, True, "200"),
        ("/lookup", "post", "/v1/lookup", {"task": "water", "k": "2"}, True, "400"),
        ("/lookup", "post", "/v1/lookup", {"task": "water"}, False, "401"),
        ("/lookup", "post", "/v1/stores/nope/lookup", {"task": "water"}, True, "404"),
        ("/lookup", "post:GET", "/v1/lookup", None, True, "405"),  # documented under post, sent as GET
        ("/lookup", "post", "/v1/lookup", big, True, "413"),
        ("/lookup", "post", "/v1/lookup", {"task": "water the plants", "k": 2}, True, "503", "timeout"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": ["water", "cook"], "k": 1}, True, "200"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": "water"}, True, "400"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": []}, False, "401"),
        ("/lookup/batch", "post", "/v1/stores/nope/lookup/batch", {"tasks": []}, True, "404"),
        ("/lookup/batch", "post", "/v1/lookup/batch", big, True, "413"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": ["water", "cook"]}, True, "503", "timeout"),
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-6"), True, "200", "unsaved"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": True}, True, "200", "unsaved"),
        ("/update", "post", "/v1/update", {"policy": "vanilla", "tasks": [trajectory("openapi-7")]}, True, "200",
         "unsaved"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-6", None, True, "200", "unsaved"),
        ("/stats", "get", "/v1/stats", None, True, "200", "unsaved"),
        # The file gone, this write saves the cache again: its answer, and every one after it, carries no warning.
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-1"), True, "200"),
        ("/trajectories", "post", "/v1/trajectories", {"id": "x", "task": "y", "steps": []}, True, "400"),
        ("/trajectories", "post", "/v1/trajectories?duplicates=skip&duplicates=replace", trajectory("openapi-10"),
         True, "400"),
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-2"), False, "401"),
        ("/trajectories", "post", "/v1/stores/nope/trajectories", trajectory("openapi-3"), True, "404"),
        ("/trajectories", "post", "/v1/trajectories", big, True, "413"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": True}, True, "200"),
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-8"), True, "507", "full"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": True}, True, "507", "full"),
        ("/update", "post", "/v1/update", {"policy": "vanilla", "tasks": [trajectory("openapi-9")]}, True, "507",
         "full"),
        ("/memories/{id}", "delete", "/v1/memories/" + memory, None, True, "507", "full"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": "yes"}, True, "400"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": True}, False, "401"),
        ("/feedback", "post", "/v1/feedback", {"memory": "no-such-memory", "success": True}, True, "404"),
        ("/feedback", "post", "/v1/feedback", big, True, "413"),
        ("/update", "post", "/v1/update",
         {"policy": "validation", "tasks": [dict(trajectory("openapi-4", "dig a hole"), usedMemories=[memory])]},
         True, "200"),
        ("/update", "post", "/v1/update", {"policy": "often", "tasks": []}, True, "400"),
        ("/update", "post", "/v1/update", {"policy": "vanilla", "tasks": []}, False, "401"),
        ("/update", "post", "/v1/stores/nope/update", {"policy": "vanilla", "tasks": []}, True, "404"),
        ("/update", "post", "/v1/update", big, True, "413"),
        ("/update", "post", "/v1/update", {"policy": "adjustment", "tasks": [failed]}, True, "409", "conflict"),
        # The refused update wrote nothing: the same update now goes through (its trajectory ID is still free).
        ("/update", "post", "/v1/update", {"policy": "adjustment", "tasks": [failed]}, True, "200"),
        ("/memories/{id}", "get", "/v1/memories/" + memory, None, True, "200"),
        ("/memories/{id}", "get", "/v1/memories/" + memory, None, False, "401"),
        ("/memories/{id}", "get", "/v1/memories/no-such-memory", None, True, "404"),
        ("/memories/{id}", "get", "/v1/memories/" + memory + "?full=1", None, True, "400"),
        ("/memories/{id}", "delete", "/v1/memories/" + memory + "?force=1", None, True, "400"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, True, "200"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, False, "401"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, True, "404"),
        ("/stats", "get", "/v1/stats", None, True, "200"),
        ("/stats", "get", "/v1/stats", None, False, "401"),
        ("/stats", "get", "/v1/stores/nope/stats", None, True, "404"),
        ("/stats", "get", "/v1/stats?store=default", None, True, "400"),
    ]


@contextlib.contextmanager
def concurrent_writer(database, memory):
    """A trigger that bumps the memory's revision when a trajectory is inserted: inside an update's transaction,
    the memory looks changed by someone else, as when another process writes it between the update's read and its
    commit."""
    connection = sqlite3.connect(database, timeout=30)
    literal = "'" + memory.replace("'", "''") + "'"
    with connection:
        connection.execute(f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON trajectory BEGIN "
                           f"UPDATE memory SET revision = revision + 1 WHERE id = {literal}; END")
    try:
        yield
    finally:
        with connection:
            connection.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
        connection.close()


@contextlib.contextmanager
def unsaved_cache(database):
    """A file where the store's index cache folder is: a write commits, but can't save the cache."""
    index = pathlib.Path(database).parent / "index"
    shutil.rmtree(index, ignore_errors=True)
    index.write_text("not a folder")
    try:
        yield
    finally:
        index.unlink()


def send(url, method, body, token):
    """(status, content type, payload) of one request."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request) as response:
            return str(response.status), response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return str(error.code), error.headers["Content-Type"], error.read()


def schema_for(spec, schema):
    """A validator for `schema`, whose references resolve against the whole spec."""
    root = copy.deepcopy(spec)
    root.update(schema)
    return jsonschema.Draft202012Validator(root)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--memory", required=True)
    parser.add_argument("--timeout-url", required=True, help="the same store served with --lookup-timeout 1e-9")
    parser.add_argument("--database", required=True, help="the store's SQLite file")
    parser.add_argument("--full-url", help="a copy of the store served on a file system with no space left")
    arguments = parser.parse_args()
    spec = yaml.safe_load(SPEC.read_text())
    validate(spec)
    documented = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "delete"):
                documented |= {(path, method, status) for status in operation["responses"]}
    exercised, skipped, problems = set(), set(), []
    for path, method, actual, body, authorized, expected, *how in requests(arguments.memory):
        method, _, sent = method.partition(":")
        if how == ["full"] and not arguments.full_url:
            skipped.add((path, method, expected))
            continue
        base = {"timeout": arguments.timeout_url, "full": arguments.full_url}.get(how[0] if how else "", arguments.url)
        token = arguments.token if authorized else None
        if how == ["conflict"]:
            with concurrent_writer(arguments.database, arguments.memory):
                status, content_type, payload = send(base + actual, sent or method.upper(), body, token)
        elif how == ["unsaved"]:
            with unsaved_cache(arguments.database):
                status, content_type, payload = send(base + actual, sent or method.upper(), body, token)
        else:
            status, content_type, payload = send(base + actual, sent or method.upper(), body, token)
        label = f"{sent or method.upper()} {actual}{' (' + how[0] + ')' if how else ''} -> {status}"
        if status != expected:
            problems.append(f"{label}: expected {expected}: {payload[:300]!r}")
            continue
        if (path, method, status) not in documented:
            problems.append(f"{label}: status not documented for {method} {path}")
            continue
        exercised.add((path, method, status))
        response_spec = spec["paths"][path][method]["responses"][status]
        if "$ref" in response_spec:
            response_spec = spec["components"]["responses"][response_spec["$ref"].split("/")[-1]]
        media, content = next(iter(response_spec["content"].items()))
        if not content_type or not content_type.startswith(media):
            problems.append(f"{label}: content type {content_type}, documented {media}")
            continue
        value = json.loads(payload) if media == "application/json" else payload.decode()
        errors = list(schema_for(spec, content["schema"]).iter_errors(value))
        problems += [f"{label}: {error.json_path}: {error.message}" for error in errors]
        if status == "200" and media == "application/json" and not errors:
            codes = [warning["code"] for warning in value.get("warnings", [])]
            if codes != (["index_cache_unsaved"] if how == ["unsaved"] else []):
                problems.append(f"{label}: warnings {codes}")
        if status in CODES and not errors and value["error"]["code"] not in CODES[status]:
            problems.append(f"{label}: error code {value['error']['code']}, expected one of {sorted(CODES[status])}")
    missing = sorted(documented - exercised - skipped)
    problems += [f"documented but not exercised: {method.upper()} {path} {status}" for path, method, status in missing]
    print(json.dumps({"operations": len({(p, m) for p, m, _ in documented}), "responsesChecked": len(exercised),
                      "responsesDocumented": len(documented), "problems": problems,
                      "skipped": [f"{m.upper()} {p} {s} (no --full-url)" for p, m, s in sorted(skipped)]},
                     sort_keys=True))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
