#!/usr/bin/env python3
"""Writes a seeded set of L2-normalised Gaussian vectors as TEXMEX .fvecs: base and queries.

    python3 scripts/make_vectors.py OUT_DIR [--count 20000] [--queries 200] [--dimension 384]
"""
import argparse
import os

import numpy as np


def write_fvecs(path, vectors):
    rows = np.empty((vectors.shape[0], vectors.shape[1] + 1), dtype=np.float32)
    rows[:, 0] = np.array([vectors.shape[1]], dtype=np.int32).view(np.float32)[0]
    rows[:, 1:] = vectors
    rows.tofile(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for name, count in (("base.fvecs", args.count), ("queries.fvecs", args.queries)):
        vectors = rng.standard_normal((count, args.dimension), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        write_fvecs(os.path.join(args.out, name), vectors)


if __name__ == "__main__":
    main()
