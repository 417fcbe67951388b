#!/usr/bin/env python3
"""Prints the keyword area's markdown section from the JSON results of one run.

    python3 keyword_report.py BM25S.json BM25S_TOP10.jsonl OURS.json OURS_TOP10.jsonl
"""
import json
import sys
import time


def top10(path):
    with open(path, encoding="utf-8") as f:
        return {row["qid"]: row for row in map(json.loads, f)}


def main():
    bm25s_run = json.load(open(sys.argv[1]))
    theirs = top10(sys.argv[2])
    ours_run = json.load(open(sys.argv[3]))
    ours = top10(sys.argv[4])

    # Overlap@10: shared documents over the larger of the two lists (bm25s pads with zero-score documents,
    # dropped by the helper), averaged over queries; exact = both lists equal as sets. The tie-adjusted figure
    # also counts as shared a pair of differing documents that both sit at their list's last (10th) score, i.e.
    # equal-score documents ordered differently at the cut.
    def tied_at_cut(row, only):
        if not row["ids"]:
            return 0
        cut = row["scores"][-1]
        return sum(1 for i, s in zip(row["ids"], row["scores"]) if i in only and abs(s - cut) <= 1e-4 * abs(cut))

    overlaps, adjusted, exact = [], [], 0
    for qid, row in theirs.items():
        mine = ours.get(qid, {"ids": [], "scores": []})
        a, b = set(row["ids"]), set(mine["ids"])
        size = max(len(a), len(b))
        shared = len(a & b)
        overlaps.append(shared / size if size else 1.0)
        ties = min(tied_at_cut(row, a - b), tied_at_cut(mine, b - a))
        adjusted.append((shared + ties) / size if size else 1.0)
        exact += a == b
    overlap = sum(overlaps) / len(overlaps)
    overlap_adjusted = sum(adjusted) / len(adjusted)

    b = bm25s_run["bm25s_result"]
    compat = ours_run["bm25s_compatible"]
    english = ours_run["english"]
    bm25s_qps = b["retrieve_single_query"]["qps"]
    bm25s_batch_qps = b["retrieve_batch"]["qps"]
    ours_qps = compat["automatic"]["qps"]
    print("## Keyword search (BM25) and hybrid\n")
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Corpus: {ours_run['corpus_documents']:,} Python "
          f"docstrings, {ours_run['queries']:,} queries of 2-4 words (`../shared/anchors/gen_corpus.py`); "
          f"k1 1.5, b 0.75, Lucene idf, top-10, one thread. bm25s {bm25s_run.get('bm25s')} (numpy backend) via "
          "`../shared/anchors/bench_bm25.py`; Memp via `Benchmarks/Sources/KeywordBench` with the "
          "`bm25sCompatible` tokenizer (bm25s's regex, lower case, its 33 stop words, no stemmer).\n")
    load = bm25s_run.get("machine_load", {}).get("other_processes_cpu_share")
    if load is not None:
        print(f"Other processes used {load:.0%} of the CPUs during the bm25s run (a shared machine).\n")
    print("| | bm25s | Memp | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| queries/s, one query per call | {bm25s_qps:,.0f} | {ours_qps:,.0f} | **{ours_qps / bm25s_qps:.1f}x** |")
    print(f"| queries/s, bm25s batch call (all 1,000 at once) vs Memp one per call | {bm25s_batch_qps:,.0f} | "
          f"{ours_qps:,.0f} | {ours_qps / bm25s_batch_qps:.1f}x |")
    print(f"| median latency, ms | {b['retrieve_single_query']['median_ms']:.3f} | "
          f"{compat['automatic']['p50_ms']:.3f} | |")
    print(f"| index build (tokenize + index), s | {b['build']['total_s']:.3f} | {compat['build_s']:.3f} | "
          f"{b['build']['total_s'] / compat['build_s']:.2f}x faster |")
    print(f"| vocabulary | {b['build']['vocab_size']:,} | {compat['vocabulary']:,} | |")
    print(f"\nOverlap of the top-10 with bm25s's (same tokenization): **{overlap:.4f}** on average "
          f"({overlap_adjusted:.4f} when equal-score documents swapped at the 10th place count as agreeing); "
          f"{exact} of {len(theirs)} queries have identical top-10 sets. Ties are broken differently (Memp: lower "
          "document ID; bm25s: its own order); other differences come from Unicode details (NFKC and case "
          "folding vs `str.lower`).\n")
    print("Evaluation strategies (same corpus, Memp; all return the same top-10):\n")
    print("| tokenizer | strategy | queries/s | p50 ms | p95 ms | build s |")
    print("|---|---|---:|---:|---:|---:|")
    for name, run in (("bm25sCompatible", compat), ("english (Porter2 + Snowball stop words)", english)):
        for strategy in ("automatic", "accumulate", "maxScore"):
            figures = run[strategy]
            same = "" if figures["same_top10_as_accumulate"] else " (differs!)"
            print(f"| {name} | {strategy}{same} | {figures['qps']:,.0f} | {figures['p50_ms']:.4f} | "
                  f"{figures['p95_ms']:.4f} | {run['build_s']:.3f} |")
    scale = ours_run.get("scale_10x")
    if scale:
        print(f"\nAt {scale['documents']:,} documents (the corpus ten times over, bm25sCompatible), one pass:\n")
        print("| strategy | queries/s | p50 ms | p95 ms |")
        print("|---|---:|---:|---:|")
        for strategy in ("automatic", "accumulate", "maxScore"):
            figures = scale[strategy]
            same = "" if figures["same_top10_as_accumulate"] else " (differs!)"
            print(f"| {strategy}{same} | {figures['qps']:,.0f} | {figures['p50_ms']:.4f} | {figures['p95_ms']:.4f} |")
    hybrid = ours_run.get("hybrid")
    if hybrid:
        print(f"\nHybrid collection at {hybrid['documents']:,} documents ({hybrid['dimension']}-d random unit "
              f"vectors, corpus texts), k 10, candidate depth {hybrid['candidate_depth']} per side, "
              f"{hybrid['queries'] - 20} timed queries; the vector scan uses every core, BM25 one. "
              f"Build (embedding excluded): {hybrid['build_s']} s.\n")
        print("| query | p50 ms | p95 ms |")
        print("|---|---:|---:|")
        labels = {"hybrid_rrf": "hybrid, RRF", "hybrid_convex_minmax": "hybrid, convex 0.5 min-max",
                  "hybrid_rrf_filtered_quarter": "hybrid, RRF, metadata filter keeping 1/4",
                  "vector_only": "vector only", "keyword_only": "keyword only"}
        for key, label in labels.items():
            print(f"| {label} | {hybrid[key]['p50_ms']:.3f} | {hybrid[key]['p95_ms']:.3f} |")


if __name__ == "__main__":
    main()
