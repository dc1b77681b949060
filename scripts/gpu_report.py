"""Joins lmt_cuda_bench and bench/torch_cuda.py records (JSON lines) on kernel/shape/dtype and
prints a Markdown table: our time, PyTorch's, and ours as a fraction of PyTorch's speed
(torch_ms / our_ms; 1.0 = parity). Usage: gpu_report.py OURS.jsonl TORCH.jsonl"""
import json
import sys


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    except OSError:
        pass
    return out


ours, torch_recs = load(sys.argv[1]), load(sys.argv[2])
print("| kernel | shape | dtype | lmtrain ms | lmtrain TFLOP/s or GB/s | PyTorch | PyTorch ms | speed vs PyTorch |")
print("|---|---|---|---:|---:|---|---:|---:|")
for o in ours:
    key = (o["kernel"], o["shape"], o["dtype"])
    name = o["kernel"] + (f" ({o['impl']})" if o.get("impl") else "")
    refs = [t for t in torch_recs if (t["kernel"], t["shape"], t["dtype"]) == key] or [None]
    rate = f"{o['tflops']} TF" if "tflops" in o else f"{o.get('gbps', '')} GB/s"
    for t in refs:
        if t is None:
            print(f"| {name} | {key[1]} | {key[2]} | {o['ms']:.3f} | {rate} | — | — | — |")
        else:
            print(f"| {name} | {key[1]} | {key[2]} | {o['ms']:.3f} | {rate} | {t.get('impl', '')} | {t['ms']:.3f} | {t['ms'] / o['ms']:.2f}x |")
