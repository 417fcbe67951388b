#!/usr/bin/env python3
"""Prints bm25s's top-10 for every benchmark query, one JSON line each: {"qid", "ids", "scores"}.

Same settings as ../shared/anchors/bench_bm25.py (k1 1.5, b 0.75, method "lucene", default tokenizer with
English stop words, no stemmer, numpy backend), so the keyword area can measure how far Memp's top-10 (with its
bm25sCompatible tokenizer) agrees with bm25s's.

    python3 keyword_bm25s_top10.py CORPUS.jsonl QUERIES.jsonl > top10.jsonl
"""
import json
import sys

import bm25s


def main():
    corpus_path, queries_path = sys.argv[1], sys.argv[2]
    with open(corpus_path, encoding="utf-8") as f:
        corpus = [json.loads(line) for line in f]
    with open(queries_path, encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene", backend="numpy")
    retriever.index(bm25s.tokenize([d["text"] for d in corpus], stopwords="en", show_progress=False),
                    show_progress=False)
    tokens = bm25s.tokenize([q["text"] for q in queries], stopwords="en", show_progress=False)
    result = retriever.retrieve(tokens, k=10, n_threads=0, show_progress=False, return_as="tuple")
    for query, rows, scores in zip(queries, result.documents, result.scores):
        kept = [(corpus[int(r)]["id"], float(s)) for r, s in zip(rows, scores) if s > 0]
        print(json.dumps({"qid": query["id"], "ids": [i for i, _ in kept], "scores": [s for _, s in kept]}))


if __name__ == "__main__":
    main()
