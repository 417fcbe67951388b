"""Times changes of memories' statuses that are not feedback, at a store's full size: deprecations by an update policy
through a served store whose indexes are loaded, then reverts of them with `memp revert` processes. Prints one JSON
line.

    python3 Benchmarks/areas/status_change_bench.py MEMP STORE WORK ID,ID,...

copies STORE to WORK (replacing WORK), serves the copy with `MEMP serve`, loads its indexes with one lookup, then
posts one `/v1/update` per ID: the validation policy over one failed task that used that memory, with `minHits` 1,
so the memory is deprecated and nothing is added. The server stops; for each ID, `MEMP revert` undoes the
deprecation in a process of its own, timed whole, beside a `MEMP query` process (which opens the store and loads the
same indexes) as the baseline. The IDs must be of active memories."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

memp, source, work, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
if os.path.exists(work):
    shutil.rmtree(work)
shutil.copytree(source, work)
server = subprocess.Popen([memp, "serve", "--store", work, "--port", "0"], stderr=subprocess.PIPE, text=True)
url = None
while url is None:
    line = server.stderr.readline()
    if not line:
        sys.exit("server exited")
    m = re.match(r"Listening on (\S+)", line)
    if m:
        url = m.group(1)


def post(path, body):
    request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        data = json.load(answer)
    return time.perf_counter() - start, data


def timed(arguments):
    start = time.perf_counter()
    completed = subprocess.run([memp] + arguments, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"{arguments[0]} exited {completed.returncode}: {completed.stderr}")
    return time.perf_counter() - start, completed.stdout


updates = []
try:
    post("/v1/lookup", {"task": "cook the meal", "k": 5})
    for number, memory in enumerate(ids):
        task = {"id": f"status-bench-failed-{number}", "task": "cook the meal", "steps": [{"action": "look"}],
                "outcome": {"success": False}, "source": "bench", "usedMemories": [memory]}
        seconds, answer = post("/v1/update", {"policy": "validation", "tasks": [task], "minHits": 1})
        report = answer["report"]
        if report["deprecated"] != [memory] or report["added"]:
            sys.exit(f"unexpected update report: {report}")
        updates.append(seconds)
finally:
    server.terminate()
    server.wait()

reverts, queries = [], []
for memory in ids:
    _, history = timed(["history", "--store", work, "--memory", memory, "--json"])
    entry = [json.loads(line) for line in history.splitlines() if json.loads(line)["action"] == "deprecate"][-1]
    seconds, _ = timed(["revert", "--store", work, str(entry["number"])])
    reverts.append(seconds)
    seconds, _ = timed(["query", "--store", work, "cook the meal", "--json"])
    queries.append(seconds)
_, verify = timed(["verify", "--store", work])
print(json.dumps({"binary": memp, "updateThatDeprecates": [round(s, 3) for s in updates],
                  "revertProcess": [round(s, 3) for s in reverts], "queryProcess": [round(s, 3) for s in queries],
                  "verify": verify.strip().splitlines()[-1]}))
