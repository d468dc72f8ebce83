"""Training and prediction overhead of MultiTaskNetClassifier against a hand-written loop.

Fits a 2-task classifier (a binary and a 4-class task) on 50,000 x 64 float32 rows with a
(128, 128) ReLU trunk, SGD, 2 epochs, no validation split, at batch sizes 256 and 2048, and in
the same process:

- ``hand``: a plain PyTorch loop with the same trunk and heads, whole-tensor batches sliced
  from a random permutation, loss = BCE + CE;
- ``sk_mtl``: ``MultiTaskNetClassifier`` (input validation, label encoding, per-task history
  included: it is what a user calls);
- ``skorch``: plain ``skorch.NeuralNet`` with the same module and summed loss (skorch's
  classifier cannot take two tasks), using skorch's default DataLoader batching.

Two more cases, same 2 epochs, SGD and trunk, batch 256, fit only (``sk_mtl/hand``):

- ``csr``: a census-style one-hot table as scipy CSR, 50,000 x 500 (40 categorical columns
  of 12-13 levels, 40 non-zeros a row), the 2 tasks above; the hand loop slices CSR rows
  per batch and densifies them (``toarray``), as sk_mtl does;
- ``tasks``: 2, 8, 16, 32 and 64 binary tasks on the dense input. The hand loop has the
  fastest head a hand-writer would use: one ``Linear(128, n_tasks)`` and one
  ``binary_cross_entropy_with_logits`` over all columns; sk_mtl has one head and one masked
  loss per task (what lets each task have its own kind, mask, weight and logged loss).

Runs are interleaved and each figure is the median over ``--repeats`` runs. Ratios are
against the hand loop (1.00 = as fast). All three run on ``--threads`` torch threads (default
1, sk_mtl's default ``n_threads``; sk_mtl gets ``n_threads=None`` so that it keeps the
benchmark's setting, and ``retrieval=None``: the same network as the others, without the
retrieval features' kNN search, which is extra work rather than overhead, and no dropout, as
in the hand loop). Usage::

    python benchmarks/bench_overhead.py [--repeats 5] [--device cpu] [--threads 1]
        [--cases dense csr tasks]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from torch import nn

from sk_mtl import MultiTaskNetClassifier

N, D, HIDDEN, EPOCHS, LR = 50_000, 64, (128, 128), 2, 0.01


def make_data(seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N, D)).astype(np.float32)
    w = rng.normal(size=(D, 5)).astype(np.float32)
    z = X @ w
    y_bin = (z[:, 0] > 0).astype(np.int64)
    y_multi = np.argmax(z[:, 1:], axis=1).astype(np.int64)
    return X, np.column_stack([y_bin, y_multi])


class HandNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(D, HIDDEN[0]), nn.ReLU(), nn.Linear(HIDDEN[0], HIDDEN[1]), nn.ReLU()
        )
        self.head_bin = nn.Linear(HIDDEN[1], 1)
        self.head_multi = nn.Linear(HIDDEN[1], 4)

    def forward(self, x):
        h = self.trunk(x)
        return self.head_bin(h), self.head_multi(h)


def two_task_loss(out, y):
    logit, scores = out
    return F.binary_cross_entropy_with_logits(logit.squeeze(-1), y[:, 0].float()) + (
        F.cross_entropy(scores, y[:, 1])
    )


class TwoTaskLoss(nn.Module):
    def forward(self, out, y):
        return two_task_loss(out, y)


def hand_fit(X, Y, batch_size, device):
    torch.manual_seed(0)
    model = HandNet().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X).to(device)
    Yt = torch.from_numpy(Y).to(device)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(Xt), generator=gen).to(device)
        for start in range(0, len(Xt), batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad()
            loss = two_task_loss(model(Xt[idx]), Yt[idx])
            loss.backward()
            opt.step()
    return model


def hand_predict(model, X, batch_size, device):
    model.eval()
    Xt = torch.from_numpy(X)
    out_bin, out_multi = [], []
    with torch.no_grad():
        for start in range(0, len(Xt), batch_size):
            logit, scores = model(Xt[start : start + batch_size].to(device))
            out_bin.append((logit[:, 0] > 0).cpu())
            out_multi.append(scores.argmax(1).cpu())
    return np.column_stack([torch.cat(out_bin).numpy(), torch.cat(out_multi).numpy()])


def ours(batch_size, device):
    return MultiTaskNetClassifier(
        hidden_dims=HIDDEN, optimizer="sgd", lr=LR, max_epochs=EPOCHS, batch_size=batch_size,
        validation_fraction=None, lr_schedule=None, random_state=0, device=device,
        n_threads=None, retrieval=None, dropout=0.0,
        # The hand loop's network: one MLP on the input as given.
        ensemble_size=1, input_scaling=None,
    )


# ---------------------------------------------------------------- CSR and many-task cases
def make_csr(seed: int = 0, n_columns: int = 40):
    """One-hot CSR of ``n_columns`` categorical columns (12 or 13 levels) and 2 tasks."""
    rng = np.random.RandomState(seed)
    levels = [12 + (j % 2) for j in range(n_columns)]
    offsets = np.cumsum([0, *levels[:-1]])
    codes = np.column_stack([rng.randint(lv, size=N) for lv in levels])
    cols = (codes + offsets).ravel()
    rows = np.repeat(np.arange(N), n_columns)
    X = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(N, int(sum(levels)))
    )
    effect = rng.normal(size=(X.shape[1], 5)).astype(np.float32)
    z = np.asarray(X @ effect)
    y_bin = (z[:, 0] > np.median(z[:, 0])).astype(np.int64)
    y_multi = np.argmax(z[:, 1:], axis=1).astype(np.int64)
    return X, np.column_stack([y_bin, y_multi])


def make_many_tasks(n_tasks: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N, D)).astype(np.float32)
    z = X @ rng.normal(size=(D, n_tasks)).astype(np.float32)
    return X, (z > 0).astype(np.int64)


class FusedHeadNet(nn.Module):
    """Trunk + one linear layer for all ``n_out`` outputs (what a hand-writer would do)."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(n_in, HIDDEN[0]), nn.ReLU(), nn.Linear(HIDDEN[0], HIDDEN[1]), nn.ReLU()
        )
        self.head = nn.Linear(HIDDEN[1], n_out)

    def forward(self, x):
        return self.head(self.trunk(x))


def hand_fit_generic(X, Y, batch_size, device, csr: bool):
    """2 epochs of SGD; CSR rows densified per batch; 2-task loss for CSR, else all-binary."""
    torch.manual_seed(0)
    n_out = 5 if csr else Y.shape[1]
    model = FusedHeadNet(X.shape[1], n_out).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt = X if csr else torch.from_numpy(X).to(device)
    Yt = torch.from_numpy(Y).to(device)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(X.shape[0], generator=gen)
        perm_np = perm.numpy()
        perm = perm.to(device)
        for start in range(0, X.shape[0], batch_size):
            idx = perm[start : start + batch_size]
            if csr:
                xb = torch.from_numpy(Xt[perm_np[start : start + batch_size]].toarray())
                out = model(xb.to(device))
                loss = two_task_loss((out[:, :1], out[:, 1:]), Yt[idx])
            else:
                out = model(Xt[idx])
                loss = F.binary_cross_entropy_with_logits(out, Yt[idx].float())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def run_fit_pair(X, Y, repeats: int, device: str, csr: bool, batch_size: int = 256):
    hand, mine = [], []
    for _ in range(repeats):
        hand.append(timed(hand_fit_generic, X, Y, batch_size, device, csr)[0])
        mine.append(timed(ours(batch_size, device).fit, X, Y)[0])
    return statistics.median(hand), statistics.median(mine)


def skorch_net(batch_size, device):
    torch.manual_seed(0)
    return NeuralNet(
        HandNet, criterion=TwoTaskLoss, optimizer=torch.optim.SGD, lr=LR, max_epochs=EPOCHS,
        batch_size=batch_size, train_split=None, verbose=0, device=device,
    )


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def run(batch_size: int, repeats: int, device: str, X, Y):
    players = ("hand", "sk_mtl", "skorch")
    times = {(who, what): [] for who in players for what in ("fit", "predict")}
    for _ in range(repeats):
        t, model = timed(hand_fit, X, Y, batch_size, device)
        times["hand", "fit"].append(t)
        t, hand_pred = timed(hand_predict, model, X, batch_size, device)
        times["hand", "predict"].append(t)

        est = ours(batch_size, device)
        t, _ = timed(est.fit, X, Y)
        times["sk_mtl", "fit"].append(t)
        t, pred = timed(est.predict, X)
        times["sk_mtl", "predict"].append(t)

        net = skorch_net(batch_size, device)
        t, _ = timed(net.fit, X, Y)
        times["skorch", "fit"].append(t)
        t, _ = timed(net.forward, X)
        times["skorch", "predict"].append(t)
    acc = {"hand": (hand_pred == Y).mean(axis=0), "sk_mtl": (pred == Y).mean(axis=0)}
    return {k: statistics.median(v) for k, v in times.items()}, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 2048])
    parser.add_argument("--cases", nargs="+", default=["dense", "csr", "tasks"])
    parser.add_argument("--task-counts", type=int, nargs="+", default=[2, 8, 16, 32, 64])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, Y = make_data()
    run(args.batch_sizes[0], 1, args.device, X[:5000], Y[:5000])  # warm-up
    print(
        f"{N} x {D} float32, 2 tasks, hidden {HIDDEN}, SGD, {EPOCHS} epochs, device "
        f"{args.device}, torch threads {torch.get_num_threads()}, median of {args.repeats}"
    )
    if "dense" in args.cases:
        header = (
            f"{'batch':>6} {'phase':>8} {'hand s':>8} {'sk_mtl s':>9} {'skorch s':>9} "
            f"{'sk_mtl/hand':>12} {'skorch/hand':>12}"
        )
        print(header)
        print("-" * len(header))
        for bs in args.batch_sizes:
            med, acc = run(bs, args.repeats, args.device, X, Y)
            for what in ("fit", "predict"):
                h, o, s = med["hand", what], med["sk_mtl", what], med["skorch", what]
                print(
                    f"{bs:>6} {what:>8} {h:>8.3f} {o:>9.3f} {s:>9.3f} {o / h:>12.2f} "
                    f"{s / h:>12.2f}"
                )
            print(
                f"{'':>6} {'(train accuracy per task: hand ' + str(acc['hand'].round(3))}, "
                f"sk_mtl {acc['sk_mtl'].round(3)})"
            )
    rows = []
    if "csr" in args.cases:
        Xc, Yc = make_csr()
        rows.append((f"csr {Xc.shape[0]}x{Xc.shape[1]}, 2 tasks",
                     *run_fit_pair(Xc, Yc, args.repeats, args.device, csr=True)))
    if "tasks" in args.cases:
        for n_tasks in args.task_counts:
            Xm, Ym = make_many_tasks(n_tasks)
            rows.append((f"dense, {n_tasks} binary tasks",
                         *run_fit_pair(Xm, Ym, args.repeats, args.device, csr=False)))
    if rows:
        print(f"\nfit only, batch 256, {EPOCHS} epochs, median of {args.repeats}")
        header = f"{'case':<28} {'hand s':>8} {'sk_mtl s':>9} {'sk_mtl/hand':>12}"
        print(header)
        print("-" * len(header))
        for name, h, o in rows:
            print(f"{name:<28} {h:>8.3f} {o:>9.3f} {o / h:>12.2f}")


if __name__ == "__main__":
    main()
