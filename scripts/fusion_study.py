#!/usr/bin/env python3
"""Fusion study across development sources, with the default chosen by leave-one-source-out.

For each source directory (trajectories.jsonl + queries.jsonl, as the generators write them) this builds a
memp store with the default embedder (`memp init`, `memp import`), looks every query up once with `memp query
--mode query` and once with `--mode bm25` at the hybrid candidate depth (the engine's own cosine and BM25
scores), then fuses the two lists offline under every candidate fusion and scores Hit@1 and nDCG@10 with the
same tie-aware definitions as `memp eval` (docs/evaluation.md). Only the fusion arithmetic runs here; the
chosen default is then checked end to end with `memp eval` (docs/experiments.md).

Selection: a fusion's margin on a source is the smaller of (Hit@1 − best single retriever's Hit@1) and
(nDCG@10 − best single retriever's nDCG@10), the best single retriever being the better of BM25 alone and dense
alone on that metric. Leave-one-source-out picks, for each held-out source, the fusion with the largest worst
margin over the other sources, and reports its margin on the held-out one. The default is the fusion with the
largest worst margin over all sources.

    python3 scripts/fusion_study.py --memp .build/release/memp --work /tmp/fusion \
        data/textworld-sample data/babyai-sample data/scienceworld-sample [--json results.json]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs).stdout


def lookups(memp, store, queries_path, mode, depth):
    out = run([memp, "query", "--store", store, "--queries", queries_path, "--mode", mode, "-k", str(depth), "--json"])
    return {row["qid"]: [(hit["id"], hit["score"], hit["sources"]) for hit in row["hits"]]
            for row in map(json.loads, out.splitlines())}


def prepare(memp, work, source, depth):
    name = os.path.basename(os.path.normpath(source))
    store = os.path.join(work, name)
    if not os.path.exists(store):
        run([memp, "init", "--store", store])
        run([memp, "import", "--store", store, os.path.join(source, "trajectories.jsonl")])
    queries = [json.loads(line) for line in open(os.path.join(source, "queries.jsonl"))]
    cache = os.path.join(work, name + f".lists-{depth}.json")
    if os.path.exists(cache):
        lists = json.load(open(cache))
    else:
        path = os.path.join(source, "queries.jsonl")
        lists = {"dense": lookups(memp, store, path, "query", depth), "bm25": lookups(memp, store, path, "bm25", depth)}
        json.dump(lists, open(cache, "w"))
    trajectories = [json.loads(line) for line in open(os.path.join(source, "trajectories.jsonl"))]
    stored = {t["id"] for t in trajectories}
    outcomes = {t["id"]: (t.get("outcome") or {}).get("success") for t in trajectories}
    # The second relevance definition: every trajectory of the query's task type (and goal, where the query
    # has one), whatever its outcome.
    for q in queries:
        labels = q.get("labels", {})
        q["relevant_any"] = sorted(
            t["id"] for t in trajectories
            if t["labels"].get("taskType") == labels.get("taskType")
            and ("goal" not in labels or t["labels"].get("goal") == labels["goal"]))
    return name, queries, lists, stored, outcomes


# --- normalizations: each maps a side's list of scores to normalized scores -------------------------------
def min_max(scores, side):
    low, high = min(scores), max(scores)
    return [1.0 if high == low else (s - low) / (high - low) for s in scores]


def z_score(scores, side):
    mean = statistics.fmean(scores)
    deviation = statistics.pstdev(scores)
    return [0.0 if deviation == 0 else (s - mean) / deviation for s in scores]


def theoretical(scores, side):
    # Bruch et al.'s theoretical min-max: the scorer's lower bound (cosine −1, BM25 0) and the observed maximum.
    low = -1.0 if side == "dense" else 0.0
    high = max(scores)
    return [1.0 if high == low else (s - low) / (high - low) for s in scores]


NORMALIZERS = {"minMax": min_max, "zScore": z_score, "theoretical": theoretical}


def fuse(dense, bm25, method, query):
    """Fused ranking: list of (score, id, sources), best first, ties to id."""
    docs = {}
    for rank, (doc, score, sources) in enumerate(dense, 1):
        docs.setdefault(doc, {"sources": sources})
        docs[doc].setdefault("dr", rank)
        docs[doc].setdefault("ds", score)
    for rank, (doc, score, sources) in enumerate(bm25, 1):
        docs.setdefault(doc, {"sources": sources})
        docs[doc].setdefault("kr", rank)
        docs[doc].setdefault("ks", score)
    kind = method[0]
    if kind == "rrf":
        _, constant, weight = method
        for d in docs.values():
            d["f"] = weight * (1 / (constant + d["dr"]) if "dr" in d else 0) + (1 - weight) * (
                1 / (constant + d["kr"]) if "kr" in d else 0)
    else:
        _, normalization, alpha = method
        if callable(alpha):
            alpha = alpha(query)
        normalize = NORMALIZERS[normalization]
        dn = dict(zip([d for d, _, _ in dense], normalize([s for _, s, _ in dense], "dense"))) if dense else {}
        kn = dict(zip([d for d, _, _ in bm25], normalize([s for _, s, _ in bm25], "bm25"))) if bm25 else {}
        for doc, d in docs.items():
            d["f"] = alpha * dn.get(doc, 0.0) + (1 - alpha) * kn.get(doc, 0.0)
    return sorted(((d["f"], doc, d["sources"]) for doc, d in docs.items()), key=lambda t: (-t[0], t[1]))


def metrics(ranking, relevant, relevant_count):
    """Tie-aware Hit@1 and nDCG@10 (McSherry & Najork 2008): a tie group's gain is spread over its positions."""
    gains = [1.0 if relevant.intersection(sources) else 0.0 for _, _, sources in ranking]
    expected = [0.0] * len(ranking)
    start = 0
    while start < len(ranking):
        end = start
        while end + 1 < len(ranking) and ranking[end + 1][0] == ranking[start][0]:
            end += 1
        share = sum(gains[start:end + 1]) / (end - start + 1)
        for position in range(start, end + 1):
            expected[position] = share
        start = end + 1
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(expected[:10]))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant_count, 10)))
    return (expected[0] if expected else 0.0), (dcg / ideal if ideal else 0.0)


def candidates():
    methods = {}
    for constant in (5, 10, 20, 40, 60, 100):
        for weight in (0.3, 0.4, 0.5, 0.6, 0.7):
            methods[f"rrf k={constant} w={weight}"] = ("rrf", constant, weight)
    for normalization in NORMALIZERS:
        for tenth in range(0, 11):
            alpha = tenth / 10
            methods[f"convex {normalization} a={alpha}"] = ("convex", normalization, alpha)
    # Query-dependent: a short query (an instruction) leans on the dense side, a long one on BM25.
    for normalization in ("minMax", "zScore"):
        for short_alpha, long_alpha in ((0.7, 0.3), (0.6, 0.4), (0.7, 0.5), (0.5, 0.3), (0.6, 0.3)):
            methods[f"convex {normalization} a={short_alpha}|{long_alpha} by length<=12"] = (
                "convex", normalization,
                lambda q, s=short_alpha, l=long_alpha: s if len(q.split()) <= 12 else l)
    return methods


def with_prior(ranking, outcomes, strength):
    """Multiplies each fused score by 1 − strength·(1 − p), p the smoothed success rate of the memory.

    p = (successes + 2·o) / (uses + 2), o = 1 for a successful source trajectory, 0 for a failed one, 0.5 when
    unknown: a fresh store has no uses, so p is the source outcome itself; counters would move it.
    """
    adjusted = []
    for score, doc, sources in ranking:
        flags = [outcomes.get(source) for source in sources]
        known = [flag for flag in flags if flag is not None]
        prior = 0.5 if not known else (1.0 if any(known) else 0.0)
        adjusted.append((score * (1 - strength * (1 - prior)), doc, sources))
    return sorted(adjusted, key=lambda t: (-t[0], t[1]))


def evaluate(source, methods, relevance="relevant", prior=0.0):
    name, queries, lists, stored, outcomes = source
    table = {}
    judged = [q for q in queries if stored.intersection(q[relevance])]
    for label, method in list(methods.items()) + [("bm25 alone", None), ("dense alone", None)]:
        hits, ndcgs = [], []
        for q in judged:
            dense, bm25 = lists["dense"][q["qid"]], lists["bm25"][q["qid"]]
            if label == "bm25 alone":
                ranking = [(s, d, src) for d, s, src in bm25]
            elif label == "dense alone":
                ranking = [(s, d, src) for d, s, src in dense]
            else:
                ranking = fuse(dense, bm25, method, q["query"])
            if prior:
                ranking = with_prior(ranking, outcomes, prior)
            relevant = set(q[relevance])
            hit, ndcg = metrics(ranking, relevant, len(stored.intersection(relevant)))
            hits.append(hit)
            ndcgs.append(ndcg)
        table[label] = (statistics.fmean(hits), statistics.fmean(ndcgs))
    best = (max(table["bm25 alone"][0], table["dense alone"][0]), max(table["bm25 alone"][1], table["dense alone"][1]))
    margins = {label: min(h - best[0], n - best[1]) for label, (h, n) in table.items()}
    return name, len(judged), table, margins


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="+", help="directories with trajectories.jsonl and queries.jsonl")
    parser.add_argument("--memp", default=".build/release/memp")
    parser.add_argument("--work", required=True, help="stores and cached lookups go here")
    parser.add_argument("--depth", type=int, default=50, help="candidates per side (the hybrid default for k <= 12)")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    methods = candidates()
    results = [evaluate(prepare(args.memp, args.work, s, args.depth), methods) for s in args.sources]
    fusions = list(methods)
    worst = {label: min(r[3][label] for r in results) for label in fusions}
    print("## Leave one source out")
    for held_out in results:
        others = [r for r in results if r is not held_out]
        pick = max(fusions, key=lambda label: (min(r[3][label] for r in others), label))
        h, n = held_out[2][pick]
        print(f"held out {held_out[0]}: pick {pick!r} (worst training margin "
              f"{min(r[3][pick] for r in others):+.4f}); on {held_out[0]}: Hit@1 {h:.4f} nDCG@10 {n:.4f}, "
              f"margin {held_out[3][pick]:+.4f}")
    default = max(fusions, key=lambda label: (worst[label], label))
    print(f"\n## Largest worst margin over all sources: {default!r} ({worst[default]:+.4f})\n")
    shown = sorted(fusions, key=lambda label: -worst[label])[:12] + ["rrf k=60 w=0.5", "bm25 alone", "dense alone"]
    print("| fusion | worst margin | " + " | ".join(f"{r[0]} Hit@1 | nDCG@10" for r in results) + " |")
    print("|---|---:|" + "---:|---:|" * len(results))
    for label in dict.fromkeys(shown):
        cells = " | ".join(f"{r[2][label][0]:.4f} | {r[2][label][1]:.4f}" for r in results)
        margin = f"{worst[label]:+.4f}" if label in worst else ""
        print(f"| {label} | {margin} | {cells} |")
    print("\njudged queries: " + ", ".join(f"{r[0]} {r[1]}" for r in results))
    print("\n## Outcome prior on the default and on RRF k=60 (Hit@1 / nDCG@10), both relevance definitions\n")
    sources = [prepare(args.memp, args.work, s, args.depth) for s in args.sources]
    subset = {label: methods[label] for label in dict.fromkeys([default, "rrf k=60 w=0.5"])}
    print("| fusion | relevance | prior strength | " + " | ".join(f"{s[0]} Hit@1 | nDCG@10" for s in sources) + " |")
    print("|---|---|---:|" + "---:|---:|" * len(sources))
    for relevance, relevance_name in (("relevant", "successful"), ("relevant_any", "any outcome")):
        for strength in (0.0, 0.1, 0.3, 0.5):
            rows = [evaluate(s, subset, relevance, strength) for s in sources]
            for label in subset:
                cells = " | ".join(f"{r[2][label][0]:.4f} | {r[2][label][1]:.4f}" for r in rows)
                print(f"| {label} | {relevance_name} | {strength} | {cells} |")
    if args.json:
        json.dump({r[0]: {"judged": r[1], "table": r[2], "margins": r[3]} for r in results}, open(args.json, "w"),
                  indent=1)


if __name__ == "__main__":
    main()
