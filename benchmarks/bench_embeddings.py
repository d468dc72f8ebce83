"""Encoding throughput of TextEmbedder (all-MiniLM-L6-v2, frozen) on the clothing reviews.

Texts are ``Title + ". " + Review Text`` (either part alone where the other is missing) of
``--n`` reviews drawn with seed 0 from ``womens_clothing_ecommerce_reviews.csv.gz`` (in
``sk_mtl.datasets.get_data_home()``). For each
batch size, in the same process, each figure the best of ``--repeats`` runs:

- ``sorted``: ``TextEmbedder.embed`` on an empty cache (what a first fit pays): distinct
  texts, longest first, one ``encode`` call per batch;
- ``unsorted``: the same ``encode`` calls on the same batches' sizes, in the data's order;
- ``one call`` (with ``--one-call``): a single ``SentenceTransformer.encode(texts,
  batch_size)``, which sorts by length itself (a reference for the per-call overhead);
- ``cached``: ``TextEmbedder.embed`` again on the filled cache (what later epochs, refits,
  clones, folds and grid points pay).

Usage::

    python benchmarks/bench_embeddings.py [--n 2000] [--batch-sizes 32 64 128] [--repeats 1]
        [--one-call] [--device cpu] [--data PATH.csv.gz]

On a 2-core CPU, MiniLM encodes some 20 review texts a second: 2,000 texts take about 100 s
per case.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sk_mtl.data import TextEmbedder, clear_embedding_cache, embedding_stats, load_sentence_model
from sk_mtl.datasets import get_data_home


def review_texts(path: Path, n: int) -> list[str]:
    frame = pd.read_csv(path, index_col=0)
    title = frame["Title"].fillna("").str.strip()
    review = frame["Review Text"].fillna("").str.strip()
    both = (title != "") & (review != "")
    texts = np.where(both, title + ". " + review, title + review)
    texts = texts[texts != ""]
    rng = np.random.default_rng(0)
    return [str(t) for t in rng.choice(texts, size=min(n, len(texts)), replace=False)]


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--one-call", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", type=Path,
                        default=get_data_home() / "womens_clothing_ecommerce_reviews.csv.gz")
    args = parser.parse_args()

    texts = review_texts(args.data, args.n)
    lengths = np.array([len(t) for t in texts])
    print(f"{len(texts)} texts, {len(set(texts))} distinct, characters: median "
          f"{np.median(lengths):.0f}, max {lengths.max()}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, device {args.device}; "
          f"load average {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    model = load_sentence_model("all-MiniLM-L6-v2", args.device)
    print(f"model load (incl. importing sentence-transformers): "
          f"{time.perf_counter() - start:.1f} s")
    model.encode(texts[:64], batch_size=64, show_progress_bar=False)  # warm-up

    print(f"{'batch':>5} {'sorted':>10} {'unsorted':>10} {'one call':>10} {'cached':>12}"
          f" {'cpu/wall':>9} {'load':>5}   (texts/s; cpu/wall: this process's CPU seconds"
          f" per second, {torch.get_num_threads()} at best)")
    for batch_size in args.batch_sizes:
        embedder = TextEmbedder("all-MiniLM-L6-v2", batch_size=batch_size, device=args.device)

        def first_fit(embedder=embedder):
            clear_embedding_cache()
            embedder.embed(texts)

        def unsorted(batch_size=batch_size):
            for i in range(0, len(texts), batch_size):
                model.encode(texts[i:i + batch_size], batch_size=batch_size,
                             show_progress_bar=False)

        def one_call(batch_size=batch_size):
            model.encode(texts, batch_size=batch_size, show_progress_bar=False)

        wall, cpu = time.perf_counter(), time.process_time()
        t_sorted = best_of(args.repeats, first_fit)
        t_unsorted = best_of(args.repeats, unsorted)
        t_one = best_of(args.repeats, one_call) if args.one_call else float("nan")
        embedder.embed(texts)
        t_cached = best_of(max(args.repeats, 3), lambda embedder=embedder: embedder.embed(texts))
        share = (time.process_time() - cpu) / (time.perf_counter() - wall)
        n = len(texts)
        print(f"{batch_size:>5} {n / t_sorted:>10.1f} {n / t_unsorted:>10.1f} "
              f"{n / t_one:>10.1f} {n / t_cached:>12.0f} {share:>9.2f} "
              f"{os.getloadavg()[0]:>5.2f}", flush=True)
    stats = embedding_stats()
    print(f"embedding_stats: {stats['texts_encoded']} texts encoded in "
          f"{stats['encode_seconds']:.1f} s ({stats['texts_per_second']:.0f} texts/s), "
          f"cache {stats['cache_entries']} entries, {stats['cache_bytes'] / 2**20:.1f} MiB; "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
