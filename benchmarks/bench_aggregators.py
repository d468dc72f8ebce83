"""Gradient aggregation: sk_mtl's PCGrad and MGDA against torchjd's, on the same gradients.

For 2, 4, 8 and 16 tasks, random task gradients of ``--params`` shared parameters (float64,
seed 0): the milliseconds of one aggregation of each (median of ``--repeats`` after a
warm-up), their ratio, and how far the directions differ (largest difference relative to
the largest component; torchjd's MGDA scaled by the number of tasks, as ours is), and the
norm of each MGDA's minimum-norm point (lower solves the MGDA sub-problem better). torchjd's
UPGrad is timed beside them. Usage::

    python benchmarks/bench_aggregators.py [--params 20000] [--repeats 30]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import torch
from torchjd.aggregation import MGDA, PCGrad, UPGrad

from sk_mtl.weighting import MGDAWeighting, PCGradWeighting


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def bound(weighting, n_tasks: int):
    names = [f"t{i}" for i in range(n_tasks)]
    weighting.bind(names, dict.fromkeys(names, 1.0))
    return weighting


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    print(f"{'tasks':>5} {'PCGrad ours ms':>15} {'torchjd ms':>11} {'ratio':>6} {'diff':>8} "
          f"{'MGDA ours ms':>13} {'torchjd ms':>11} {'diff':>8} {'norm ours':>11} "
          f"{'norm torchjd':>13} {'UPGrad ms':>10}")
    for m in (2, 4, 8, 16):
        grads = torch.randn(m, args.params, dtype=torch.float64)
        ours_pc, theirs_pc = bound(PCGradWeighting(), m), PCGrad()
        ours_mg, theirs_mg, upgrad = bound(MGDAWeighting(), m), MGDA(), UPGrad()
        a, b = ours_pc.aggregate(grads), theirs_pc(grads)
        pc_diff = float((a - b).abs().max() / b.abs().max())
        c, d = ours_mg.aggregate(grads), m * theirs_mg(grads)
        mg_diff = float((c - d).abs().max() / d.abs().max())
        t = [median_ms(functools.partial(f, grads), args.repeats) for f in (
            ours_pc.aggregate, theirs_pc, ours_mg.aggregate, theirs_mg, upgrad)]
        print(f"{m:>5} {t[0]:>15.2f} {t[1]:>11.2f} {t[0] / t[1]:>5.1f}x {pc_diff:>8.1e} "
              f"{t[2]:>13.2f} {t[3]:>11.2f} {mg_diff:>8.1e} {float(c.norm()) / m:>11.5f} "
              f"{float(d.norm()) / m:>13.5f} {t[4]:>10.2f}")


if __name__ == "__main__":
    main()
