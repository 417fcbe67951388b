#!/usr/bin/env python3
"""Prints N trajectories made from the TextWorldExpress sample's, repeated with a variant number in each ID and task.

    python3 Benchmarks/areas/sample_variants.py 10000 > store.jsonl
"""
import json
import pathlib
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
lines = [json.loads(line) for line in (REPOSITORY / "data/textworld-sample/trajectories.jsonl").open() if line.strip()]
for number in range(int(sys.argv[1])):
    record = dict(lines[number % len(lines)])
    record["id"] = f"{record['id']}-{number}"
    record["task"] = f"{record['task']} (variant {number // len(lines)})"
    print(json.dumps(record))
