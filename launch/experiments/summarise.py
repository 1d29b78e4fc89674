"""Mean ± std over seeds of the --json results in a folder: files NAME-sSEED.json, one row per NAME.

Usage: summarise.py FOLDER [--paired BASE]
With --paired, also print each candidate's per-seed difference from candidate BASE at the same
seed (mAP@5, mAP@20, mAP@all and near-duplicate mAP@5): seeds paired cancel the noise that the
seeds share (one seed's split of the views, its initialisation), which the ± of the means does not.
"""
import json, statistics, sys, pathlib, collections

args = sys.argv[1:]
paired_base = None
if "--paired" in args:
    at = args.index("--paired")
    if at + 1 >= len(args):
        sys.exit("summarise.py: --paired needs a candidate name")
    paired_base = args[at + 1]
    del args[at:at + 2]
if len(args) != 1:
    sys.exit("usage: summarise.py FOLDER [--paired BASE]")
folder = pathlib.Path(args[0])
by_seed = collections.defaultdict(dict)  # candidate → seed → result
for f in sorted(folder.glob("*-s*.json")):
    name, seed = f.stem.rsplit("-s", 1)
    by_seed[name][seed] = json.loads(f.read_text())
runs = {name: list(results.values()) for name, results in by_seed.items()}
if paired_base is not None and paired_base not in runs:
    sys.exit(f"summarise.py: --paired {paired_base}: no {paired_base}-sSEED.json in {folder}")
ks = ["5", "10", "20", "40", "60", "80", "100"]


def cell(values):
    mean = statistics.mean(values)
    return f"{mean:.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{mean:.3f}"


def scores(results):
    """mAP@K for every K (– where a run lacks it), then mAP@all: one table row's cells."""
    row = [cell([r["map"][k] for r in results]) if all(k in r["map"] for r in results) else "–" for k in ks]
    return row + [cell([r["map_all"] for r in results])]


print("| candidate | seeds | " + " | ".join(f"mAP@{k}" for k in ks) + " | mAP@all | s/run |")
print("|---|---|" + "---|" * (len(ks) + 2))
for name, results in runs.items():
    row = scores(results) + [f"{statistics.mean(r['seconds'] for r in results):.0f}"]
    print(f"| {name} | {len(results)} | " + " | ".join(row) + " |")

near = {name: [r["near_duplicates"] for r in results if "near_duplicates" in r] for name, results in runs.items()}
if any(near.values()):
    print()
    print("Near-duplicates (copies against their sources):")
    print("| candidate | seeds | " + " | ".join(f"mAP@{k}" for k in ks) + " | mAP@all |")
    print("|---|---|" + "---|" * (len(ks) + 1))
    for name, results in near.items():
        if results:
            print(f"| {name} | {len(results)} | " + " | ".join(scores(results)) + " |")

if paired_base is not None:
    def measures(r):
        near = r.get("near_duplicates", {}).get("map", {}).get("5")
        return [r["map"].get("5"), r["map"].get("20"), r["map_all"], near]

    print()
    print(f"Paired by seed, candidate minus {paired_base} (mAP@5 / mAP@20 / mAP@all / near-dup mAP@5):")
    print("| candidate | " + " | ".join(f"seed {s}" for s in sorted(by_seed[paired_base], key=int)) + " |")
    print("|---|" + "---|" * len(by_seed[paired_base]))
    for name in runs:
        if name == paired_base:
            continue
        cells = []
        for seed in sorted(by_seed[paired_base], key=int):
            if seed not in by_seed[name]:
                cells.append("–")
                continue
            pairs = zip(measures(by_seed[name][seed]), measures(by_seed[paired_base][seed]))
            cells.append(" / ".join("–" if a is None or b is None else f"{a - b:+.3f}" for a, b in pairs))
        print(f"| {name} | " + " | ".join(cells) + " |")
