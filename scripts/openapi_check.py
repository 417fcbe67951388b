#!/usr/bin/env python3
"""Hold a running `memp serve` to docs/openapi.yaml.

    python3 scripts/openapi_check.py --url http://127.0.0.1:PORT --token TOKEN

The server must serve one store holding a memory with the ID given by --memory, with `--token-file` (so that 401
can be exercised) and `--max-body-bytes 65536`. Validates the spec, sends one request for every documented
operation and status (but those listed in UNREACHABLE, which a well-behaved server can't be made to answer on
demand), and checks each answer's status, content type and body against the spec's schema. Prints one JSON
summary; exits 1 on any mismatch or on a documented status no request exercised.
"""
import argparse
import copy
import json
import pathlib
import sys
import urllib.error
import urllib.request

import jsonschema
import yaml
from openapi_spec_validator import validate

SPEC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
# Statuses documented for completeness that no request can provoke deterministically.
UNREACHABLE = {("/lookup", "post", "503"), ("/lookup/batch", "post", "503"), ("/update", "post", "409")}


def trajectory(identifier, task="water the tomato plants", success=True):
    return {"id": identifier, "task": task, "steps": [{"action": "fill the can"}, {"action": "water"}],
            "outcome": {"success": success}, "source": "openapi-check"}


def requests(memory):
    big = json.dumps({"task": "x" * 70000}).encode()
    return [
        # (documented path, method, actual path, body, authorized, expected status)
        ("/healthz", "get", "/healthz", None, False, "200"),
        ("/metrics", "get", "/metrics", None, True, "200"),
        ("/metrics", "get", "/metrics", None, False, "401"),
        ("/stores", "get", "/v1/stores", None, True, "200"),
        ("/stores", "get", "/v1/stores", None, False, "401"),
        ("/lookup", "post", "/v1/lookup", {"task": "water the plants", "k": 2}, True, "200"),
        ("/lookup", "post", "/v1/lookup", {"task": "water", "k": "2"}, True, "400"),
        ("/lookup", "post", "/v1/lookup", {"task": "water"}, False, "401"),
        ("/lookup", "post", "/v1/stores/nope/lookup", {"task": "water"}, True, "404"),
        ("/lookup", "post:GET", "/v1/lookup", None, True, "405"),  # documented under post, sent as GET
        ("/lookup", "post", "/v1/lookup", big, True, "413"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": ["water", "cook"], "k": 1}, True, "200"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": "water"}, True, "400"),
        ("/lookup/batch", "post", "/v1/lookup/batch", {"tasks": []}, False, "401"),
        ("/lookup/batch", "post", "/v1/stores/nope/lookup/batch", {"tasks": []}, True, "404"),
        ("/lookup/batch", "post", "/v1/lookup/batch", big, True, "413"),
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-1"), True, "200"),
        ("/trajectories", "post", "/v1/trajectories", {"id": "x", "task": "y", "steps": []}, True, "400"),
        ("/trajectories", "post", "/v1/trajectories", trajectory("openapi-2"), False, "401"),
        ("/trajectories", "post", "/v1/stores/nope/trajectories", trajectory("openapi-3"), True, "404"),
        ("/trajectories", "post", "/v1/trajectories", big, True, "413"),
        ("/feedback", "post", "/v1/feedback", {"memory": memory, "success": True}, True, "200"),
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
        ("/memories/{id}", "get", "/v1/memories/" + memory, None, True, "200"),
        ("/memories/{id}", "get", "/v1/memories/" + memory, None, False, "401"),
        ("/memories/{id}", "get", "/v1/memories/no-such-memory", None, True, "404"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, True, "200"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, False, "401"),
        ("/memories/{id}", "delete", "/v1/memories/openapi-1", None, True, "404"),
        ("/stats", "get", "/v1/stats", None, True, "200"),
        ("/stats", "get", "/v1/stats", None, False, "401"),
        ("/stats", "get", "/v1/stores/nope/stats", None, True, "404"),
    ]


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
    arguments = parser.parse_args()
    spec = yaml.safe_load(SPEC.read_text())
    validate(spec)
    documented = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "delete"):
                documented |= {(path, method, status) for status in operation["responses"]}
    exercised, problems = set(), []
    for path, method, actual, body, authorized, expected in requests(arguments.memory):
        method, _, sent = method.partition(":")
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(arguments.url + actual, data=data, method=sent or method.upper())
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if authorized:
            request.add_header("Authorization", "Bearer " + arguments.token)
        try:
            with urllib.request.urlopen(request) as response:
                status, content_type, payload = str(response.status), response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as error:
            status, content_type, payload = str(error.code), error.headers["Content-Type"], error.read()
        label = f"{sent or method.upper()} {actual} -> {status}"
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
        for error in schema_for(spec, content["schema"]).iter_errors(value):
            problems.append(f"{label}: {error.json_path}: {error.message}")
    missing = sorted(documented - exercised - UNREACHABLE)
    problems += [f"documented but not exercised: {method.upper()} {path} {status}" for path, method, status in missing]
    print(json.dumps({"operations": len({(p, m) for p, m, _ in documented}), "responsesChecked": len(exercised),
                      "unreachable": sorted("/".join(entry) for entry in UNREACHABLE), "problems": problems},
                     sort_keys=True))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
