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

Runs are interleaved and each figure is the median over ``--repeats`` runs. Ratios are
against the hand loop (1.00 = as fast). Usage::

    python benchmarks/bench_overhead.py [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
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
        validation_fraction=None, random_state=0, device=device,
    )


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
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 2048])
    args = parser.parse_args(argv)
    X, Y = make_data()
    run(args.batch_sizes[0], 1, args.device, X[:5000], Y[:5000])  # warm-up
    print(
        f"{N} x {D} float32, 2 tasks, hidden {HIDDEN}, SGD, {EPOCHS} epochs, device "
        f"{args.device}, torch threads {torch.get_num_threads()}, median of {args.repeats}"
    )
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
                f"{bs:>6} {what:>8} {h:>8.3f} {o:>9.3f} {s:>9.3f} {o / h:>12.2f} {s / h:>12.2f}"
            )
        print(
            f"{'':>6} {'(train accuracy per task: hand ' + str(acc['hand'].round(3))}, "
            f"sk_mtl {acc['sk_mtl'].round(3)})"
        )


if __name__ == "__main__":
    main()
