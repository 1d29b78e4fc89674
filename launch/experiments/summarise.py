"""Mean ± std over seeds of the --json results in a folder: files NAME-sSEED.json, one row per NAME."""
import json, statistics, sys, pathlib, collections

folder = pathlib.Path(sys.argv[1])
runs = collections.defaultdict(list)
for f in sorted(folder.glob("*-s*.json")):
    runs[f.stem.rsplit("-s", 1)[0]].append(json.loads(f.read_text()))
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
