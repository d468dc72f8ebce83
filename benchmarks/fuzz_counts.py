"""Count what random inputs do to the sk_mtl estimators (issue 8, "nothing silent").

Runs the hypothesis strategies of ``tests/test_fuzz.py`` (the one copy of them) for many
examples without stopping at the first failure, and prints how many cases ended clean, with a
clear error (ValueError/TypeError with a message of sk_mtl's or scikit-learn's), with a crash
(any other exception, or one raised inside torch/numpy/pandas/scipy/skorch or carrying a raw
torch/numpy/Python message) or with garbage (a successful predict/predict_proba/score that
breaks the property), then the distinct failures of each kind with a reproducer.

    python benchmarks/fuzz_counts.py --examples 2000
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import torch
from hypothesis import HealthCheck, Phase, given, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
fz = importlib.import_module("test_fuzz")  # the strategies and the checker, kept there

KINDS = ("clean", "error", "crash", "garbage")


def run_family(name, strategy, n_examples, stop_at, records, table, show_progress):
    """Run ``n_examples`` cases of ``strategy``; fill ``records`` (key -> [outcome, case,
    count]) and ``table[name]`` (kind -> count)."""
    counts = Counter()
    table[name] = counts
    start = time.time()

    @settings(max_examples=n_examples, phases=[Phase.generate], deadline=None,
              derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def loop(case):
        if time.time() > stop_at:
            counts["skipped (time)"] += 1
            return
        outcome = fz.run_case(case)
        counts[outcome.kind] += 1
        if outcome.kind != "clean":
            entry = records.setdefault(outcome.key(), [outcome, case, 0, name])
            entry[2] += 1
        done = sum(counts.values())
        if show_progress and done % 200 == 0:
            print(f"  {name}: {done} cases, {time.time() - start:.0f} s, {dict(counts)}",
                  file=sys.stderr, flush=True)

    loop()
    counts["seconds"] = round(time.time() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000,
                        help="cases in all, split evenly between the two families")
    parser.add_argument("--minutes", type=float, default=30.0,
                        help="stop running cases after this long (the rest count as skipped)")
    parser.add_argument("--show", type=int, default=3,
                        help="reproducers shown per distinct clear error (crashes and garbage: "
                             "all distinct ones)")
    parser.add_argument("--errors", type=int, default=15,
                        help="distinct clear errors listed (most frequent first)")
    parser.add_argument("--cut", type=int, default=300,
                        help="characters kept of each value in a reproducer")
    parser.add_argument("--match", default=None,
                        help="also show the reproducer of every listed clear error whose "
                             "message matches this regular expression")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    warnings.filterwarnings("error", category=FutureWarning, module="sk_mtl")

    stop_at = time.time() + 60 * args.minutes
    records: dict[tuple, list] = {}
    table: dict[str, Counter] = {}
    half = args.examples // 2
    run_family("MultiTaskNet*", fz.table_cases(), args.examples - half, stop_at, records,
               table, not args.quiet)
    run_family("FusionNet*", fz.fusion_cases(), half, stop_at, records, table,
               not args.quiet)

    total = Counter()
    for counts in table.values():
        total.update(counts)
    table["total"] = total
    columns = ["cases", *KINDS, "skipped (time)", "seconds"]
    print(f"{'family':<15}" + "".join(f"{c:>16}" for c in columns))
    for name, counts in table.items():
        cases = sum(counts[k] for k in KINDS)
        cells = [cases, *(counts[k] for k in KINDS), counts["skipped (time)"],
                 counts["seconds"]]
        print(f"{name:<15}" + "".join(f"{c:>16}" for c in cells))

    for kind in ("crash", "garbage", "error"):
        found = sorted(((k, v) for k, v in records.items() if k[0] == kind),
                       key=lambda kv: -kv[1][2])
        print(f"\n==== {kind}: {len(found)} distinct, {sum(v[2] for _, v in found)} cases")
        shown = found if kind != "error" else found[:args.errors]
        for i, (_, (outcome, case, count, family)) in enumerate(shown):
            print(f"\n[{kind} {i + 1}] {count} case(s), {family}, at {outcome.stage}, raised "
                  f"at {outcome.where or '-'}\n  {outcome.detail[:400]}")
            wanted = args.match is not None and re.search(args.match, outcome.detail)
            if kind != "error" or i < args.show or wanted:
                code = case.code(outcome.stage, limit=args.cut)
                print("  " + code.replace("\n", "\n  "))


if __name__ == "__main__":
    main()
