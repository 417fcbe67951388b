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
import subprocess
import sys
import time

from served_store import ServedStore

memp, source, work, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")


def timed(arguments):
    start = time.perf_counter()
    completed = subprocess.run([memp] + arguments, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"{arguments[0]} exited {completed.returncode}: {completed.stderr}")
    return time.perf_counter() - start, completed.stdout


updates = []
with ServedStore(memp, source, work) as served:
    served.post("/v1/lookup", {"task": "cook the meal", "k": 5})
    for number, memory in enumerate(ids):
        task = {"id": f"status-bench-failed-{number}", "task": "cook the meal", "steps": [{"action": "look"}],
                "outcome": {"success": False}, "source": "bench", "usedMemories": [memory]}
        seconds, answer = served.post("/v1/update", {"policy": "validation", "tasks": [task], "minHits": 1})
        report = answer["report"]
        if report["deprecated"] != [memory] or report["added"]:
            sys.exit(f"unexpected update report: {report}")
        updates.append(seconds)

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
