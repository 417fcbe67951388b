#!/usr/bin/env python3
"""Lookups through `memp serve` on a PostgreSQL store with 1 to 16 concurrent keep-alive HTTP clients, and one
`memp query` process per lookup, for several builds of memp measured in turns on the same store and server.

    python3 Benchmarks/areas/postgres_serve_bench.py --store DIR --memp before=PATH --memp after=PATH \
        --rounds 3 --clients 1,4,8,16 --modes hybrid,query --queries 304 --cli-queries 20

Each round serves the store with every build in turn (the order reversed every other round, so that neither build
always runs first), one `memp serve` per build and mode: 30 warm-up lookups, then `--queries` lookups per client
count. The `memp query` processes of a round run after its servers, alternating the builds lookup by lookup. Prints
one JSON object: the runs, each with its build, round, mode, clients and the figures of serve_bench.summary.
"""
import argparse
import json
import os
import signal
import time

from serve_bench import cli_processes, http_clients, sample_queries, start_server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--memp", action="append", required=True, help="LABEL=PATH, repeated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,4,8,16")
    parser.add_argument("--modes", default="hybrid,query")
    parser.add_argument("--queries", type=int, default=304)
    parser.add_argument("--cli-queries", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    arguments = parser.parse_args()
    builds = [tuple(value.split("=", 1)) for value in arguments.memp]
    clients = [int(value) for value in arguments.clients.split(",")]
    modes = arguments.modes.split(",")
    tasks = sample_queries()
    runs = []
    for round_number in range(1, arguments.rounds + 1):
        order = builds if round_number % 2 else builds[::-1]
        for label, memp in order:
            for mode in modes:
                server, port, ready_seconds = start_server(memp, arguments.store)
                try:
                    http_clients(port, tasks, 1, 30, arguments.k, mode, server.pid)  # warm-up
                    for count in clients:
                        load = os.getloadavg()[0]
                        started = time.strftime("%H:%M:%S", time.gmtime())
                        result = http_clients(port, tasks, count, arguments.queries // count, arguments.k, mode,
                                              server.pid)
                        runs.append({"build": label, "round": round_number, "mode": mode, "clients": count,
                                     "started_utc": started, "load_1min_before": round(load, 2), **result})
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait()
        for index in range(arguments.cli_queries):
            for label, memp in order:
                result = cli_processes(memp, arguments.store, tasks[index:], 1, arguments.k, modes[0])
                runs.append({"build": label, "round": round_number, "mode": modes[0], "clients": "memp query",
                             "load_1min_before": round(os.getloadavg()[0], 2), **result})
    print(json.dumps({"runs": runs, "k": arguments.k, "cpus": os.cpu_count()}, sort_keys=True))


if __name__ == "__main__":
    main()
