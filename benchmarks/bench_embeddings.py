"""Encoding throughput of TextEmbedder (all-MiniLM-L6-v2, frozen) on the clothing reviews.

Texts are ``Title + ". " + Review Text`` (either part alone where the other is missing) of
``--n`` reviews drawn with seed 0 from ``womens_clothing_ecommerce_reviews.csv.gz`` (in
``sk_mtl.datasets.get_data_home()``).

The main table compares, in one process and on the same texts, the encoding path sk_mtl had
before its backends (``before``: the distinct texts, longest first by characters, in batches of
``--batch-size``, each one ``SentenceTransformer.encode`` call in float32; the embeddings all
others are compared with) against ``TextEmbedder(backend=...).embed`` with an empty memory cache
and the disk cache off, for each of ``--backends``. The runs are interleaved (before, then each
backend, ``--repeats`` times) so that each ratio compares runs made under the same load;
texts/s and ratios are medians over the repeats. Cosines are between each text's embedding
and its ``before`` embedding: the minimum and the median over the texts.

Then the caches: ``TextEmbedder.embed`` again on the filled memory cache, and in a fresh
memory cache from the disk cache (a temporary folder, written by one more encoding).

With ``--batch-sizes``, the older table too: for each batch size, the ``before`` path on the
texts sorted (``sorted``) and in the data's order (``unsorted``), and with ``--one-call`` a
single ``SentenceTransformer.encode(texts, batch_size)``, which sorts by length itself.

Usage::

    python benchmarks/bench_embeddings.py [--n 2000] [--repeats 3] [--batch-size 64]
        [--backends packed-bf16 packed sentence-transformers] [--batch-sizes 32 64 128]
        [--one-call] [--device cpu] [--data PATH.csv.gz]

On 2 CPU cores the ``before`` path encodes some 40-80 review texts a second, by CPU: each
repeat of the default 2,000 texts takes 25-50 s for it and 6-45 s per backend.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sk_mtl.data import (
    TextEmbedder,
    clear_embedding_cache,
    embedding_stats,
    get_embedding_cache_dir,
    load_sentence_model,
)
from sk_mtl.data._packed_bert import native_bfloat16
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


def before(model, texts: list[str], batch_size: int) -> np.ndarray:
    """The encoding path of sk_mtl before its backends, as it was: distinct texts, longest
    first by characters, ``batch_size`` per ``encode`` call (float32)."""
    distinct = list(dict.fromkeys(t for t in texts if t))
    order = sorted(range(len(distinct)), key=lambda i: -len(distinct[i]))
    rows = {}
    for start in range(0, len(order), batch_size):
        batch = [distinct[i] for i in order[start:start + batch_size]]
        values = model.encode(batch, batch_size=batch_size, show_progress_bar=False,
                              convert_to_numpy=True)
        rows.update(zip(batch, np.asarray(values, dtype=np.float32)))
    return np.stack([rows[t] for t in texts])


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def compare(model, texts, args) -> None:
    n = len(texts)
    runs = {"before": lambda: before(model, texts, args.batch_size)}
    for backend in args.backends:
        embedder = TextEmbedder("all-MiniLM-L6-v2", batch_size=args.batch_size,
                                device=args.device, backend=backend, normalize=False)

        def run(embedder=embedder):
            clear_embedding_cache()
            return embedder.embed(texts)

        runs[f"{backend} ({embedder.resolved_backend})" if backend == "auto" else backend] = run
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    outputs: dict[str, np.ndarray] = {}
    for repeat in range(args.repeats):
        for name, run in runs.items():
            seconds, out = timed(run)
            speeds[name].append(n / seconds)
            outputs.setdefault(name, out)
        print(f"  repeat {repeat + 1}/{args.repeats}: " + ", ".join(
            f"{name} {speeds[name][-1]:.1f}" for name in runs) + f" texts/s; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    ref = speeds["before"]
    print(f"\n{'path':<32} {'texts/s':>9} {'ratio':>7} {'min cos':>10} {'median cos':>11}"
          f"   (medians over {args.repeats} repeats; ratio: per repeat, to 'before')")
    for name in runs:
        ratio = np.median([s / r for s, r in zip(speeds[name], ref)])
        cos = cosines(outputs[name], outputs["before"])
        print(f"{name:<32} {np.median(speeds[name]):>9.1f} {ratio:>6.2f}x "
              f"{cos.min():>10.6f} {np.median(cos):>11.6f}", flush=True)


def caches(texts, args) -> None:
    backend = args.backends[0]
    embedder = TextEmbedder("all-MiniLM-L6-v2", batch_size=args.batch_size,
                            device=args.device, backend=backend)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SK_MTL_EMBEDDING_CACHE"] = folder
        clear_embedding_cache()
        embedder.embed(texts)  # fills both caches
        memory = min(timed(lambda: embedder.embed(texts))[0] for _ in range(3))
        clear_embedding_cache()
        disk, _ = timed(lambda: embedder.embed(texts))
        size = embedding_stats()["disk_bytes"]
        os.environ["SK_MTL_EMBEDDING_CACHE"] = "off"
    n = len(texts)
    print(f"\nfrom the caches ({backend}): memory {n / memory:,.0f} texts/s; disk (a fresh "
          f"memory cache, as in another process) {n / disk:,.0f} texts/s, "
          f"{size / 2**20:.1f} MiB for {len(set(texts))} texts")


def batch_table(model, texts, args) -> None:
    print(f"\n{'batch':>5} {'sorted':>10} {'unsorted':>10} {'one call':>10}   "
          f"(the 'before' path, texts/s, best of {args.repeats})")
    for batch_size in args.batch_sizes:
        def unsorted(batch_size=batch_size):
            for i in range(0, len(texts), batch_size):
                model.encode(texts[i:i + batch_size], batch_size=batch_size,
                             show_progress_bar=False)

        def one_call(batch_size=batch_size):
            model.encode(texts, batch_size=batch_size, show_progress_bar=False)

        def best(run):
            return min(timed(run)[0] for _ in range(args.repeats))

        t_sorted = best(lambda batch_size=batch_size: before(model, texts, batch_size))
        t_unsorted = best(unsorted)
        t_one = best(one_call) if args.one_call else float("nan")
        n = len(texts)
        print(f"{batch_size:>5} {n / t_sorted:>10.1f} {n / t_unsorted:>10.1f} "
              f"{n / t_one:>10.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backends", nargs="+",
                        default=["packed-bf16", "packed", "sentence-transformers"])
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[])
    parser.add_argument("--one-call", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", type=Path,
                        default=get_data_home() / "womens_clothing_ecommerce_reviews.csv.gz")
    args = parser.parse_args()
    os.environ["SK_MTL_EMBEDDING_CACHE"] = "off"  # every run encodes; caches() measures it
    assert get_embedding_cache_dir() is None

    texts = review_texts(args.data, args.n)
    lengths = np.array([len(t) for t in texts])
    print(f"{len(texts)} texts, {len(set(texts))} distinct, characters: median "
          f"{np.median(lengths):.0f}, max {lengths.max()}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs, bfloat16 instructions: "
          f"{native_bfloat16()}, device {args.device}; load average {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    model = load_sentence_model("all-MiniLM-L6-v2", args.device)
    print(f"model load (incl. importing sentence-transformers): "
          f"{time.perf_counter() - start:.1f} s")
    # Warm-up: each path once on a few texts (builds the packed models).
    before(model, texts[:64], args.batch_size)
    for backend in args.backends:
        clear_embedding_cache()
        TextEmbedder(batch_size=args.batch_size, device=args.device,
                     backend=backend).embed(texts[:64])

    compare(model, texts, args)
    caches(texts, args)
    if args.batch_sizes:
        batch_table(model, texts, args)
    stats = embedding_stats()
    print(f"\nembedding_stats: {stats['texts_encoded']} texts encoded in "
          f"{stats['encode_seconds']:.1f} s; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
