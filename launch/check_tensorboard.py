"""TensorBoard's own reader against a run folder's metrics.jsonl (launch/check-tensorboard)."""
import json
import pathlib
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator


def float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def expected(run):
    """(tag, step) -> value, as chain-train's MetricsRecord.scalars names them."""
    out = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["kind"] == "step":
            for term in ["total", "contrastive", "order", "scene", "reconstruction"]:
                if r[term] != 0:
                    out[(f"loss/{term}", r["step"])] = r[term]
            out[("train/lr", r["step"])] = r["lr"]
            out[("train/videos_per_second", r["step"])] = r["videos_per_second"]
        elif r["kind"] == "eval":
            for key, value in r.items():
                if key.startswith("map@"):
                    out[(f"map/at_{key[4:]}", r["step"])] = value
            out[("map/all", r["step"])] = r["map_all"]
    return out


def main():
    run = pathlib.Path(sys.argv[1])
    files = sorted(run.glob("events.out.tfevents.*"))
    if not files:
        sys.exit(f"{run}: no events.out.tfevents.* file")
    accumulator = event_accumulator.EventAccumulator(str(run), size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    seen = {}
    for tag in accumulator.Tags()["scalars"]:
        for event in accumulator.Scalars(tag):
            seen[(tag, event.step)] = event.value
    want = expected(run)
    missing = [k for k in want if k not in seen]
    wrong = [(k, want[k], seen[k]) for k in want if k in seen and seen[k] != float32(want[k])]
    print(f"{run}: TensorBoard read {len(seen)} scalars in {len(accumulator.Tags()['scalars'])} tags "
          f"from {len(files)} file(s); metrics.jsonl has {len(want)} step and evaluation scalars")
    if missing or wrong:
        for k in missing[:10]:
            print(f"  missing: {k}")
        for k, a, b in wrong[:10]:
            print(f"  differs: {k}: metrics {a}, tensorboard {b}")
        sys.exit(1)
    print("  every step and evaluation scalar of metrics.jsonl is in the event files, equal as float32")


if __name__ == "__main__":
    main()
