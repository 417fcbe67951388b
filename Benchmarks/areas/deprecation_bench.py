"""Times POST /v1/feedback on a served store whose indexes are loaded: failures on fresh memories, three each (the
third deprecates under the default thresholds: 3 hits, success rate below 0.5). Prints one JSON line.

    python3 Benchmarks/areas/deprecation_bench.py MEMP STORE WORK ID,ID,...

copies STORE to WORK (replacing WORK), serves the copy with `MEMP serve`, loads its indexes with one lookup, then
sends the feedback. The IDs must be of memories with no hits yet."""
import json
import os
import re
import shutil
import statistics
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
    with urllib.request.urlopen(request, timeout=120) as answer:
        data = json.load(answer)
    return time.perf_counter() - start, data

first, _ = post("/v1/lookup", {"task": "cook the meal", "k": 5})
plain, deprecating = [], []
for memory in ids:
    for attempt in range(3):
        seconds, data = post("/v1/feedback", {"memory": memory, "success": False})
        change = data["memories"][0]
        (deprecating if change["deprecated"] else plain).append(seconds)
lookup, hits = post("/v1/lookup", {"task": "cook the meal", "k": 5})
server.terminate()
server.wait()
print(json.dumps({"binary": memp, "firstLookup": round(first, 3), "plainFeedbackMedian": round(statistics.median(plain), 4),
                  "deprecatingFeedback": [round(s, 3) for s in deprecating], "lookupAfter": round(lookup, 3)}))
