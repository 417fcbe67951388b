"""Times writes at a store's full size, through the server and as processes, and what they cost the index cache.
Prints one JSON line.

    python3 Benchmarks/areas/write_bench.py MEMP STORE WORK [WRITES]

copies STORE to WORK (replacing WORK), serves the copy with `MEMP serve`, loads its indexes with one lookup, then
posts WRITES (default 10) trajectories one at a time to `/v1/trajectories` and reads the server's peak resident
memory. The server stops; then, each timed whole with its peak resident memory (`/usr/bin/time -v`): a `MEMP import`
process of one trajectory, a `MEMP query` process (hybrid, the default) and a `MEMP query --mode keyword` process.
Last, the size of WORK/index."""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from served_store import ServedStore

memp, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
writes = int(sys.argv[4]) if len(sys.argv) > 4 else 10


def trajectory(name):
    return {"id": f"write-bench-{name}", "task": f"water the {name} plant in the living room",
            "steps": [{"action": "take watering can 1", "observation": "You take it."},
                      {"action": f"water the {name} plant", "observation": "Done."}],
            "outcome": {"success": True}, "source": "bench"}


with ServedStore(memp, source, work) as served:
    served.post("/v1/lookup", {"task": "cook the meal", "k": 5})
    latencies = [served.post("/v1/trajectories", trajectory(f"served{n}"))[0] for n in range(writes)]
    server_peak = served.peak_resident_mib()


def timed(arguments):
    start = time.perf_counter()
    completed = subprocess.run(["/usr/bin/time", "-v", memp] + arguments, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{arguments[0]} exited {completed.returncode}: {completed.stderr}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr).group(1)) // 1024
    return round(seconds, 3), peak


with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
    file.write(json.dumps(trajectory("process")) + "\n")
imported = timed(["import", "--store", work, file.name])
os.unlink(file.name)
query = timed(["query", "--store", work, "water the plant", "--json"])
keyword = timed(["query", "--store", work, "water the plant", "--mode", "keyword", "--json"])
cache_bytes = sum(os.path.getsize(os.path.join(work, "index", name)) for name in os.listdir(os.path.join(work, "index")))
print(json.dumps({"binary": memp, "servedWriteMedian": round(statistics.median(latencies[1:]), 3),
                  "servedWrites": [round(s, 3) for s in latencies], "serverPeakMiB": server_peak,
                  "importProcess": {"seconds": imported[0], "peakMiB": imported[1]},
                  "queryProcess": {"seconds": query[0], "peakMiB": query[1]},
                  "keywordQueryProcess": {"seconds": keyword[0], "peakMiB": keyword[1]},
                  "cacheMB": round(cache_bytes / 1e6, 1)}))
