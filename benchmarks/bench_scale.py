"""One model beyond memory and beyond one process: a streamed fit against an in-memory fit,
and one process against two (gloo), on a synthetic census-like table in Parquet.

The table (:func:`write_census`): 6 numeric columns (age, education years, hours, capital
gain and loss, a sampling weight) and 8 categorical ones (workclass, education, marital
status, occupation, relationship, race, sex, country: 101 categories in all), two tasks:
``high_income`` (binary, from a logistic model of the columns) and ``log_wage``
(regression, 10% of its labels missing). Written in files of 1M rows, row groups of
65,536 rows; a separate file of 50,000 rows is the test set both fits are scored on.

Each fit runs in a fresh process that reports its own peak RSS (``ru_maxrss``):

- ``memory``: the whole table read into pandas, encoded by a
  :class:`~sk_mtl.data.StreamEncoder` fitted on all its rows (numbers scaled, categories
  one-hot: the input the streamed fit sees), ``MultiTaskNet(input_scaling=None).fit(X, y)``
  with 5% of the rows for validation;
- ``stream``: ``MultiTaskNet().fit(ParquetTable(...))``, 5% of the row groups for
  validation, the scaling fitted on the 100,000-row sample of the pass;
- ``stream x2``: the same under ``torchrun --nproc-per-node 2`` (gloo): one model, each
  process reading its row groups.

Both fits: ``hidden_dims=(128, 128)``, batches of 512, ``--epochs`` epochs without early
stopping, one torch thread per process, no retrieval, one network (no ensemble).
``rows/s`` is training rows per second of the epochs (the history's ``dur``, from the
first epoch on: the pass before training and the data loading are not in it; they are
in ``wall``). ``test loss`` is the log-loss of ``high_income`` plus the squared error of
``log_wage`` divided by its variance, on the test file.

Usage::

    python benchmarks/bench_scale.py [--quick] [--rows 1000000 10000000] [--epochs 3]
        [--data DIR] [--seed 0] [--json PATH]
    python benchmarks/bench_scale.py --write-only --rows N --out DIR

``--write-only --out DIR`` writes one table of ``N`` rows to ``DIR`` (its test file to
``DIR-test.parquet``) and stops: the table of the user guide's "Scaling out" page.

``--quick`` is 20,000 and 60,000 rows, 2 epochs (what the test runs). Timings on a shared
machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = ["age", "education_years", "hours", "capital_gain", "capital_loss", "weight"]
CATEGORIES = {
    "workclass": 8, "education": 16, "marital": 7, "occupation": 15, "relationship": 6,
    "race": 5, "sex": 2, "country": 42,
}
TARGETS = ["high_income", "log_wage"]
FILE_ROWS = 1_000_000
ROW_GROUP = 65_536
TEST_ROWS = 50_000
SETTINGS = dict(hidden_dims=(128, 128), batch_size=512, early_stopping=False, retrieval=None,
                ensemble_size=1, n_threads=1, random_state=0)


# ------------------------------------------------------------------------------ the table
def census_rows(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of the synthetic census table, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    coef = np.random.default_rng(12345)  # the same model for every chunk
    df = pd.DataFrame({
        "age": rng.integers(17, 90, n).astype(np.float32),
        "education_years": rng.integers(1, 17, n).astype(np.float32),
        "hours": np.clip(rng.normal(40, 12, n), 1, 99).astype(np.float32),
        "capital_gain": np.where(rng.random(n) < 0.08, rng.lognormal(8, 1.5, n), 0)
        .astype(np.float32),
        "capital_loss": np.where(rng.random(n) < 0.05, rng.lognormal(7, 0.5, n), 0)
        .astype(np.float32),
        "weight": rng.lognormal(12, 0.5, n).astype(np.float32),
    })
    z_income = (0.04 * (df["age"] - 40) + 0.25 * (df["education_years"] - 10)
                + 0.03 * (df["hours"] - 40) + 0.6 * np.log1p(df["capital_gain"]) / 8)
    z_wage = 0.01 * (df["age"] - 40) + 0.08 * (df["education_years"] - 10)
    for name, k in CATEGORIES.items():
        p = coef.dirichlet(np.full(k, 2.0))
        codes = rng.choice(k, size=n, p=p)
        df[name] = pd.Categorical.from_codes(codes, [f"{name}_{i}" for i in range(k)])
        z_income = z_income + coef.normal(0, 0.6, k)[codes]
        z_wage = z_wage + coef.normal(0, 0.2, k)[codes]
    # An interaction the network has to find: hours pay more in some occupations.
    occupation = df["occupation"].cat.codes.to_numpy()
    z_income = z_income + 0.05 * (df["hours"] - 40) * (occupation % 3 == 0)
    df["high_income"] = (rng.random(n) < 1 / (1 + np.exp(-(z_income - 1.0)))).astype(np.int8)
    wage = 2.8 + z_wage + 0.3 * df["high_income"] + rng.normal(0, 0.35, n)
    df["log_wage"] = np.where(rng.random(n) < 0.1, np.nan, wage).astype(np.float32)
    return df


def write_census(folder: Path, n_rows: int, chunk: int = 250_000) -> Path:
    """The table of ``n_rows`` rows in ``folder`` (files of :data:`FILE_ROWS` rows) and its
    test file beside it; kept when already there."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = folder / "_complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    seed, written, part = 0, 0, 0
    writer = None
    while written < n_rows:
        if writer is None:
            path = folder / f"part-{part:03d}.parquet"
            in_file = 0
        n = min(chunk, n_rows - written, FILE_ROWS - in_file)
        table = pa.Table.from_pandas(census_rows(n, seed), preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        # Row groups of ROW_GROUP rows; at least 20 of them for small (--quick) tables.
        writer.write_table(table, row_group_size=min(ROW_GROUP, max(1_000, n_rows // 20)))
        seed, written, in_file = seed + 1, written + n, in_file + n
        if in_file >= FILE_ROWS or written >= n_rows:
            writer.close()
            writer, part = None, part + 1
    test = folder.parent / f"{folder.name}-test.parquet"
    census_rows(TEST_ROWS, 10**6).to_parquet(test, index=False)
    done.touch()
    return folder


# ----------------------------------------------------------------------------- one fit
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _test_loss(est, test_path: Path) -> dict:
    from sklearn.metrics import log_loss

    df = pd.read_parquet(test_path)
    X = df[NUMERIC + list(CATEGORIES)]
    X_in = X if hasattr(est, "stream_encoder_") else est._bench_encoder.transform(X)
    proba = est.predict_proba(X_in)[0][:, 1]
    wage = est.predict_tasks(X_in)["log_wage"].astype(np.float64)
    y_wage = df["log_wage"].to_numpy(np.float64)
    labelled = ~np.isnan(y_wage)
    nmse = float(np.mean((wage[labelled] - y_wage[labelled]) ** 2) / np.var(y_wage[labelled]))
    ll = float(log_loss(df["high_income"], proba, labels=[0, 1]))
    return {"test_loss": ll + nmse, "log_loss": ll, "nmse": nmse,
            "accuracy": float(np.mean((proba > 0.5) == df["high_income"]))}


def child(mode: str, folder: Path, epochs: int, seed: int = 0) -> None:
    """Run one fit in this process and print one JSON line (rank 0 only when launched by
    torchrun)."""
    import torch
    import torch.distributed as dist

    from sk_mtl import MultiTaskNet
    from sk_mtl.data import ParquetTable, StreamEncoder

    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    start = time.perf_counter()
    params = {**SETTINGS, "max_epochs": epochs, "random_state": seed}
    if mode == "memory":
        df = pd.read_parquet(folder)
        encoder = StreamEncoder(NUMERIC, list(CATEGORIES), "auto").fit(
            df, {c: sorted(df[c].cat.categories) for c in CATEGORIES})
        X = encoder.transform(df[NUMERIC + list(CATEGORIES)])
        y = df[TARGETS]
        y = y.assign(high_income=y["high_income"].astype(np.int64))
        del df
        loaded = time.perf_counter() - start
        est = MultiTaskNet(**params, input_scaling=None, validation_fraction=0.05)
        est.fit(X, y)
        est._bench_encoder = encoder
    else:
        table = ParquetTable(folder, target=TARGETS, categorical=list(CATEGORIES),
                             validation=0.05)
        loaded = 0.0
        est = MultiTaskNet(**params).fit(table)
    # Training rows an epoch (in a data-parallel fit, this process's part of them).
    n_train = sum(b["train_batch_size"] for b in est.net_.history[0]["batches"]
                  if "train_batch_size" in b)
    wall = time.perf_counter() - start
    history = est.net_.history
    durations = list(history[:, "dur"])
    rss = _peak_rss_mb()
    if dist.is_initialized():  # every process's peak; the rows of all of them
        rss = max(r for r in _gather(rss))
        n_train = float(sum(_gather(float(n_train))))
        dist.destroy_process_group()
    if rank:
        return
    out = {"mode": mode, "processes": int(os.environ.get("WORLD_SIZE", 1)), "wall_s": wall,
           "load_s": loaded, "epoch_s": durations, "rows_per_s": n_train / np.mean(durations),
           "peak_rss_mb": rss, "valid_loss": float(history[-1, "valid_loss"]),
           "n_train": n_train, "threads": torch.get_num_threads()}
    out.update(_test_loss(est, folder.parent / f"{folder.name}-test.parquet"))
    print("RESULT " + json.dumps(out), flush=True)


def _gather(value):
    import torch.distributed as dist

    values = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def run(mode: str, folder: Path, epochs: int, processes: int = 1, seed: int = 0) -> dict:
    """One fit in a fresh process (``torchrun`` for several)."""
    script = [str(Path(__file__).resolve()), "--child", mode, "--table", str(folder),
              "--epochs", str(epochs), "--seed", str(seed)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if processes > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", str(processes), *script]
    else:
        cmd = [sys.executable, *script]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _size(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1_000}k" if n % 1_000 == 0 else str(n)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", type=Path,
                        default=Path(tempfile.gettempdir()) / "sk_mtl_bench_scale")
    parser.add_argument("--write-only", action="store_true")
    parser.add_argument("--out", type=Path, help="with --write-only: the table's folder")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=["memory", "stream"])
    parser.add_argument("--table", type=Path)
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of the fits (the validation split, weights, order)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.table, args.epochs, args.seed)
        # Leave without the interpreter's teardown: a data-parallel streamed child
        # sometimes aborted there ("terminate called without an active exception", SIGABRT
        # after its work and destroy_process_group were done; 2 of 6 runs on 2 cores),
        # which failed the run; at that point only the main Python thread is left, so it
        # is gloo's native teardown (pytorch/pytorch#179291 describes the same abort).
        # Its result line is printed and flushed by then.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if args.write_only and args.out is not None:
        if len(args.rows) != 1:
            parser.error("--write-only --out writes one table: give one --rows")
        write_census(args.out, args.rows[0])
        print(f"wrote {args.rows[0]:,} rows to {args.out}")
        return []
    if args.quick:
        args.rows, args.epochs = [20_000, 60_000], 2
    small, *larger = sorted(args.rows)
    folders = {n: write_census(args.data / f"census-{_size(n)}", n) for n in args.rows}
    print(f"census tables in {args.data}: " + ", ".join(
        f"{_size(n)} rows ({sum(f.stat().st_size for f in folders[n].glob('*.parquet')) / 1e6:.0f}"
        " MB)" for n in args.rows))
    if args.write_only:
        return []
    results = []
    for mode, n, procs in [("memory", small, 1), ("stream", small, 1), ("stream", small, 2),
                           *(("stream", n, 1) for n in larger)]:
        res = run(mode, folders[n], args.epochs, procs, args.seed)
        res["rows"] = n
        results.append(res)
        print(f"  done: {mode} {_size(n)} x{procs} in {res['wall_s']:.0f} s", flush=True)
    base = results[0]
    print(f"\n{args.epochs} epochs, (128, 128) MLP, batches of 512, one torch thread per "
          f"process; {os.cpu_count()} cores (timings on a shared machine are noisy)")
    header = (f"{'fit':<14}{'rows':>6}{'procs':>6}{'peak RSS MB':>13}{'rows/s':>10}"
              f"{'x memory':>10}{'wall s':>8}{'valid loss':>12}{'test loss':>11}{'acc':>7}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r['mode']:<14}{_size(r['rows']):>6}{r['processes']:>6}{r['peak_rss_mb']:>13.0f}"
              f"{r['rows_per_s']:>10.0f}{r['rows_per_s'] / base['rows_per_s']:>10.2f}"
              f"{r['wall_s']:>8.0f}{r['valid_loss']:>12.4f}{r['test_loss']:>11.4f}"
              f"{r['accuracy']:>7.3f}")
    one, two = results[1], results[2]
    print(f"\n2 processes / 1 process (streamed, {_size(small)}): "
          f"{two['rows_per_s'] / one['rows_per_s']:.2f}x rows/s")
    print(f"streamed - in-memory test loss ({_size(small)}): "
          f"{one['test_loss'] - base['test_loss']:+.4f}")
    for r in results[3:]:
        verdict = "under" if r["peak_rss_mb"] < 2048 else "OVER"
        print(f"streamed {_size(r['rows'])}: peak RSS {r['peak_rss_mb']:.0f} MB ({verdict} 2 GB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
