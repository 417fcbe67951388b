"""Times POST /v1/feedback on a served store whose indexes are loaded: failures on fresh memories, three each (the
third deprecates under the default thresholds: 3 hits, success rate below 0.5). Prints one JSON line.

    python3 Benchmarks/areas/deprecation_bench.py MEMP STORE WORK ID,ID,...

copies STORE to WORK (replacing WORK), serves the copy with `MEMP serve`, loads its indexes with one lookup, then
sends the feedback. The IDs must be of memories with no hits yet."""
import json
import statistics
import sys

from served_store import ServedStore

memp, source, work, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
with ServedStore(memp, source, work) as served:
    first, _ = served.post("/v1/lookup", {"task": "cook the meal", "k": 5})
    plain, deprecating = [], []
    for memory in ids:
        for attempt in range(3):
            seconds, data = served.post("/v1/feedback", {"memory": memory, "success": False})
            change = data["memories"][0]
            (deprecating if change["deprecated"] else plain).append(seconds)
    lookup, hits = served.post("/v1/lookup", {"task": "cook the meal", "k": 5})
print(json.dumps({"binary": memp, "firstLookup": round(first, 3), "plainFeedbackMedian": round(statistics.median(plain), 4),
                  "deprecatingFeedback": [round(s, 3) for s in deprecating], "lookupAfter": round(lookup, 3)}))
