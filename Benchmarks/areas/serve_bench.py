#!/usr/bin/env python3
"""Lookups through `memp serve` (HTTP, keep-alive, 1 and 8 clients; MCP over stdio and over streamable HTTP with
the official `mcp` Python SDK, 1 client) against one `memp query` process per lookup; one `memp show` process; and
the server's first lookup after another process imported a trajectory (which the server catches up with).

    python3 Benchmarks/areas/serve_bench.py --memp .build/release/memp --store DIR --queries 300 --cli-queries 30

The store must exist (see serve.sh). Tasks are the sample's held-out queries (data/textworld-sample/queries.jsonl),
reused in order. Prints one JSON object: per configuration p50/p95 latency in ms and lookups/s. The MCP rows also
time `ping` round trips (no store work), which shows what the protocol and the SDK add on their own; without the
`mcp` package they are left out and the object says so.
"""
import argparse
import asyncio
import http.client
import json
import os
import pathlib
import re
import signal
import statistics
import subprocess
import threading
import time

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(latencies, wall, server_cpu=None):
    """Latency percentiles and rate; with `server_cpu` (seconds the server spent on the timed lookups), the server's
    CPU time per lookup, which other processes' load changes far less than the wall-clock figures."""
    result = {"lookups": len(latencies), "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
              "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
              "lookups_per_second": round(len(latencies) / wall, 1)}
    if server_cpu is not None:
        result["server_cpu_ms_per_lookup"] = round(server_cpu / len(latencies) * 1000, 2)
    return result


def cpu_seconds(pid):
    """User and system CPU time of process `pid` so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stdio_server_pid():
    """The `memp serve --mcp-stdio` process the MCP SDK started for this process."""
    for children in pathlib.Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            if b"--mcp-stdio" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
    raise RuntimeError("the MCP SDK's memp serve --mcp-stdio process was not found")


def keep_alive_request(connection, method, path, body=None):
    """Sends one request on a keep-alive `connection` and reads the whole answer: the seconds it took. An answer
    other than 200, or one that closes the connection, raises."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    start = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    seconds = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: HTTP {response.status}: {payload[:500]!r}")
    if response.will_close:  # http.client would reconnect silently: the figures would not be keep-alive
        raise RuntimeError(f"{method} {path}: the server closed a keep-alive connection")
    return seconds


def http_clients(port, tasks, clients, per_client, k, mode, server_pid):
    latencies, errors, lock = [], [], threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def run(number):
        connection = http.client.HTTPConnection("127.0.0.1", port)
        mine = []
        barrier.wait()
        try:
            lookups(connection, number, mine)
        except Exception as error:  # a thread's exception would otherwise only be printed
            with lock:
                errors.append(error)
        with lock:
            latencies.extend(mine)

    def lookups(connection, number, mine):
        for index in range(per_client):
            task = tasks[(number * per_client + index) % len(tasks)]
            mine.append(keep_alive_request(connection, "POST", "/v1/lookup",
                                           json.dumps({"task": task, "k": k, "mode": mode})))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(server_pid)
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return summary(latencies, time.perf_counter() - start, cpu_seconds(server_pid) - cpu_before)


def processes(commands):
    """Runs each command as a whole process, one after another; the latencies are their wall-clock times."""
    latencies = []
    start_all = time.perf_counter()
    for command in commands:
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        latencies.append(time.perf_counter() - start)
    return summary(latencies, time.perf_counter() - start_all)


def cli_processes(memp, store, tasks, count, k, mode):
    return processes([[memp, "query", "--store", store, "--mode", mode, "-k", str(k), "--json", tasks[index % len(tasks)]]
                      for index in range(count)])


def show_processes(memp, store, count, port):
    """`memp show` of a memory a lookup through the server found, as an agent's tooling would print it."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/v1/lookup", json.dumps({"task": "look around", "k": 1}))
    memory = json.loads(connection.getresponse().read())["hits"][0]["id"]
    connection.close()
    return processes([[memp, "show", "--store", store, memory] for _ in range(count)])


def catch_up(memp, store, port, rounds, task):
    """Another process imports one trajectory while the server runs; the server's next lookup catches up with it.
    Times the import process and that first lookup; the imported trajectories are deleted again afterwards."""
    imports, first_lookups = [], []
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def lookup():
        start = time.perf_counter()
        connection.request("POST", "/v1/lookup", json.dumps({"task": task, "k": 3}))
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"lookup after another process's import answered {response.status}")
        return time.perf_counter() - start

    for number in range(rounds):
        identifier = f"catch-up-{os.getpid()}-{number}"
        path = pathlib.Path(f"/tmp/{identifier}.jsonl")
        path.write_text(json.dumps({"id": identifier, "task": f"water the plants in room {number}", "steps": [
            {"action": "go to the kitchen"}, {"action": "take the watering can"}, {"action": "water the plants"}],
            "outcome": {"success": True}, "source": "serve-bench-catch-up"}) + "\n")
        lookup()
        start = time.perf_counter()
        subprocess.run([memp, "import", "--store", store, str(path)], check=True, capture_output=True)
        imports.append(time.perf_counter() - start)
        first_lookups.append(lookup())
        path.unlink()
    connection.close()
    subprocess.run([memp, "delete", "--store", store, "--source", "serve-bench-catch-up"], check=True,
                   capture_output=True)
    return {"import_process": summary(imports, sum(imports)),
            "first_lookup_after_import": summary(first_lookups, sum(first_lookups))}


async def mcp_session_lookups(session, tasks, count, k, mode, server_pid):
    """Warm-up, then `count` timed `lookup_procedures` calls and as many timed pings, on one MCP session."""
    await session.initialize()
    server_pid = server_pid or stdio_server_pid()
    arguments = lambda index: {"task": tasks[index % len(tasks)], "k": k, "mode": mode}
    for index in range(30):
        await session.call_tool("lookup_procedures", arguments(index))
    latencies, pings = [], []
    cpu_before = cpu_seconds(server_pid)
    start_all = time.perf_counter()
    for index in range(count):
        start = time.perf_counter()
        result = await session.call_tool("lookup_procedures", arguments(index))
        latencies.append(time.perf_counter() - start)
        if getattr(result, "is_error", None) or getattr(result, "isError", None):
            raise RuntimeError(f"lookup_procedures failed: {result.content[:1]}")
    wall = time.perf_counter() - start_all
    server_cpu = cpu_seconds(server_pid) - cpu_before
    for _ in range(count):
        start = time.perf_counter()
        await session.send_ping()
        pings.append(time.perf_counter() - start)
    result = summary(latencies, wall, server_cpu)
    result["ping_p50_ms"] = round(percentile(pings, 0.5) * 1000, 2)
    return result


async def mcp_lookups(transport, target, tasks, count, k, mode, server_pid=None):
    """Lookups over MCP with the official SDK: `target` is memp and the store for stdio, the endpoint URL and the
    server's process for HTTP."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    if transport == "stdio":
        memp, store = target
        parameters = StdioServerParameters(command=memp, args=["serve", "--mcp-stdio", "--store", store])
        async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
            return await mcp_session_lookups(session, tasks, count, k, mode, None)
    async with streamable_http_client(target) as streams, ClientSession(streams[0], streams[1]) as session:
        return await mcp_session_lookups(session, tasks, count, k, mode, server_pid)


def mcp_available():
    try:
        import mcp  # noqa: F401
    except ImportError:
        return False
    return True


def sample_queries():
    """The sample's held-out queries, the lookups' tasks."""
    return [json.loads(line)["query"] for line in
            (REPOSITORY / "data/textworld-sample/queries.jsonl").read_text().splitlines() if line.strip()]


def start_server(memp, store):
    """`memp serve` on `store` at a free port, once it listens: the process, the port and the seconds it took."""
    server = subprocess.Popen([memp, "serve", "--store", store, "--port", "0"], stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    port, seen = None, []
    for line in server.stderr:  # the store opens first; anything it prints comes before "Listening on"
        match = re.search(r"^Listening on http://.*:(\d+)$", line.strip())
        if match:
            port = int(match.group(1))
            break
        seen.append(line)
    if port is None:
        raise SystemExit(f"memp serve exited with {server.wait()} before listening: {''.join(seen)}")
    ready_seconds = time.perf_counter() - started
    threading.Thread(target=server.stderr.read, daemon=True).start()
    return server, port, ready_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--memp", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--cli-queries", type=int, default=30)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--catch-up-rounds", type=int, default=3)
    arguments = parser.parse_args()
    tasks = sample_queries()
    server, port, ready_seconds = start_server(arguments.memp, arguments.store)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", "/v1/stats")
        stats = json.loads(connection.getresponse().read())
        connection.close()
        http_clients(port, tasks, 1, 30, arguments.k, arguments.mode, server.pid)  # warm-up
        loads = {"http_1_client": os.getloadavg()[0]}
        one = http_clients(port, tasks, 1, arguments.queries, arguments.k, arguments.mode, server.pid)
        loads["http_8_clients"] = os.getloadavg()[0]
        eight = http_clients(port, tasks, 8, arguments.queries // 8, arguments.k, arguments.mode, server.pid)
        loads["memp_show_process"] = os.getloadavg()[0]
        show = show_processes(arguments.memp, arguments.store, arguments.cli_queries, port)
        loads["import_process"] = loads["first_lookup_after_import"] = os.getloadavg()[0]
        caught_up = catch_up(arguments.memp, arguments.store, port, arguments.catch_up_rounds, tasks[0])
        mcp = {}
        if mcp_available():
            loads["mcp_http_1_client"] = os.getloadavg()[0]
            mcp["mcp_http_1_client"] = asyncio.run(mcp_lookups(
                "http", f"http://127.0.0.1:{port}/mcp", tasks, arguments.queries, arguments.k, arguments.mode,
                server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        status = server.wait()
    if mcp_available():
        loads["mcp_stdio_1_client"] = os.getloadavg()[0]
        mcp["mcp_stdio_1_client"] = asyncio.run(mcp_lookups(
            "stdio", (arguments.memp, arguments.store), tasks, arguments.queries, arguments.k, arguments.mode))
    loads["memp_query_process"] = os.getloadavg()[0]
    cli = cli_processes(arguments.memp, arguments.store, tasks, arguments.cli_queries, arguments.k, arguments.mode)
    results = {"http_1_client": one, "http_8_clients": eight, "memp_query_process": cli, "memp_show_process": show,
               **caught_up, **mcp}
    for key, result in results.items():
        result["load_1min_before"] = round(loads[key], 2)
    words = statistics.mean(len(task.split()) for task in tasks)
    print(json.dumps({**results, "mcp_measured": bool(mcp),
                      "server_ready_seconds": round(ready_seconds, 2), "server_exit_status": status,
                      "memories": stats["statistics"]["memories"], "embedder": stats["embedder"],
                      "task_words_mean": round(words, 1), "k": arguments.k, "mode": arguments.mode,
                      "cpus": os.cpu_count()}, sort_keys=True))


if __name__ == "__main__":
    main()
