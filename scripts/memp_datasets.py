"""Writes a development data set in Memp's JSON Lines formats, with a manifest of its arguments and hashes."""
import argparse
import hashlib
import json
import os


def generator_parser(description, per, noun, train, test, episodes="episodes"):
    """The options every generator takes: --out, and the train and test (query) episodes per `per` (level, game,
    task), which the help calls `noun`; the generator adds its own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(f"--train-per-{per}", type=int, default=train, help=f"train {episodes} per {noun}")
    parser.add_argument(f"--test-per-{per}", type=int, default=test, help=f"test {episodes} (queries) per {noun}")
    return parser


def write_data_set(out, generator, arguments, trajectories, files):
    """Writes each of `files` ({name: rows}, one JSON object a line) and manifest.json; prints the counts."""
    for name, rows in files.items():
        with open(os.path.join(out, name), "w") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True) + "\n")
    manifest = {"generator": generator, "arguments": arguments, "trajectories": len(trajectories),
                "successful": sum(bool(t["outcome"]["success"]) for t in trajectories),
                "queries": len(files.get("queries.jsonl", [])),
                "sha256": {name: hashlib.sha256(open(os.path.join(out, name), "rb").read()).hexdigest()
                           for name in files}}
    with open(os.path.join(out, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    print(json.dumps({key: manifest[key] for key in ("trajectories", "successful", "queries")}))


def relevance_files(trajectories, queries, key):
    """queries.jsonl (relevant: the successful trajectories whose key matches the query's) and queries-any.jsonl
    (every trajectory whose key matches), beside trajectories.jsonl."""
    successful, every = {}, {}
    for record in trajectories:
        every.setdefault(key(record["labels"]), []).append(record["id"])
        if record["outcome"]["success"]:
            successful.setdefault(key(record["labels"]), []).append(record["id"])
    files = {"trajectories.jsonl": trajectories}
    for name, relevant in (("queries.jsonl", successful), ("queries-any.jsonl", every)):
        files[name] = [dict(q, relevant=sorted(relevant.get(key(q["labels"]), []))) for q in queries]
    return files
