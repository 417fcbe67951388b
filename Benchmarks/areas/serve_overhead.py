#!/usr/bin/env python3
"""What `memp serve` costs per request apart from the store's work, for two or more builds in one run.

    python3 Benchmarks/areas/serve_overhead.py --store DIR [--rounds 6] [--requests 400] NAME=MEMP NAME=MEMP ...

Starts one `memp serve` per build on the same store (each on its own loopback port) and, round after round, sends
each server in turn the same keep-alive requests from one client: `GET /healthz` (no store work: the HTTP pipeline,
the request timer and the answer alone), `GET /v1/memories/ID` (one read), and `POST /v1/lookup` with the first four
words of the sample's first held-out query in `bm25` mode (no embedding). The order of the builds alternates from round to round, so neither always runs
first. Prints one JSON object: per build and request kind, the median over the rounds of each round's p50 latency,
the rounds' p50s, requests per second, and the server's CPU time per request (user and system, from /proc), which
other processes' load changes far less than the wall-clock figures.
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import time
import urllib.parse

from serve_bench import cpu_seconds, keep_alive_request, percentile, sample_queries, start_server

KINDS = ["healthz", "memory", "lookup_bm25"]


def short_task():
    """The first four words of the sample's first held-out query: a lookup whose search is cheap."""
    return " ".join(sample_queries()[0].split()[:4])


def request_for(kind, memory_id):
    """The method, path and body of one request of `kind`."""
    if kind == "healthz":
        return "GET", "/healthz", None
    if kind == "memory":
        return "GET", f"/v1/memories/{urllib.parse.quote(memory_id, safe='')}", None
    return "POST", "/v1/lookup", json.dumps({"task": short_task(), "k": 3, "mode": "bm25"})


def timed_requests(port, pid, kind, count, memory_id):
    """`count` requests of `kind` on one keep-alive connection: p50 latency (s), requests/s, server CPU per request."""
    method, path, body = request_for(kind, memory_id)
    connection = http.client.HTTPConnection("127.0.0.1", port)
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    latencies = [keep_alive_request(connection, method, path, body) for _ in range(count)]
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    connection.close()
    return percentile(latencies, 0.5), count / wall, cpu / count


def first_memory_id(port):
    """The ID of a memory the store holds, found by a lookup."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/v1/lookup", body=json.dumps({"task": short_task(), "k": 1, "mode": "bm25"}),
                       headers={"Content-Type": "application/json"})
    hits = json.loads(connection.getresponse().read())["hits"]
    connection.close()
    if not hits:
        raise SystemExit(f"the store answered no hit for {short_task()!r}; serve a store of the sample's tasks")
    return hits[0]["id"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("builds", nargs="+", help="NAME=PATH of a memp binary")
    arguments = parser.parse_args()
    builds = [build.split("=", 1) for build in arguments.builds]
    if any(len(build) != 2 for build in builds) or len(builds) < 2:
        raise SystemExit("give two or more builds as NAME=PATH")
    if len({name for name, _ in builds}) != len(builds):
        raise SystemExit("give each build a name of its own")
    if arguments.rounds < 1 or arguments.requests < 1:
        raise SystemExit("--rounds and --requests must be at least 1")
    servers = {}
    rounds = {name: {kind: [] for kind in KINDS} for name, _ in builds}
    loads = [os.getloadavg()[0]]
    try:
        for name, path in builds:
            servers[name] = start_server(path, arguments.store)
        memory_id = first_memory_id(next(iter(servers.values()))[1])
        for name, (server, port, _) in servers.items():  # warm-up
            for kind in KINDS:
                timed_requests(port, server.pid, kind, 50, memory_id)
        for number in range(arguments.rounds):
            order = list(servers.items())
            if number % 2:
                order.reverse()
            for name, (server, port, _) in order:
                for kind in KINDS:
                    rounds[name][kind].append(timed_requests(port, server.pid, kind, arguments.requests, memory_id))
            loads.append(os.getloadavg()[0])
    finally:
        for server, _, _ in servers.values():
            server.send_signal(signal.SIGTERM)
            server.wait()
    result = {}
    for name, kinds in rounds.items():
        result[name] = {}
        for kind, measured in kinds.items():
            result[name][kind] = {
                "p50_ms_median": round(statistics.median(p50 for p50, _, _ in measured) * 1000, 4),
                "p50_ms_rounds": [round(p50 * 1000, 4) for p50, _, _ in measured],
                "requests_per_second_median": round(statistics.median(rate for _, rate, _ in measured), 1),
                "server_cpu_ms_per_request_median": round(statistics.median(cpu for _, _, cpu in measured) * 1000, 4),
            }
    print(json.dumps({"builds": dict(builds), "rounds": arguments.rounds, "requests": arguments.requests,
                      "memory_id": memory_id, "load_1min": [round(load, 2) for load in loads],
                      "results": result}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
