#!/usr/bin/env python3
"""The PyTorch peer of `lmtrain bench train`: the identical GPT and training step
(nanoGPT-style: learned positions, pre-LayerNorm, fused qkv, GELU(tanh) MLP 4x, tied LM head;
cross-entropy, backward, grad-norm clip 1.0, AdamW lr 3e-4 betas (0.9, 0.95) weight decay 0.1
on matrices only), fp32 on the CPU, random tokens. Prints one JSON object.

On CUDA (`--device cuda`, for scripts/gpu-check.sh) it is PyTorch eager in fp32 (TF32 off, the
same arithmetic as lmtrain's default) with attention through scaled_dot_product_attention
when torch has it; `--bf16` runs the step under bf16 autocast instead.

Threads: torch.set_num_threads sets torch's intra-op pool only; OpenBLAS (which Debian's
torch calls for matmuls) has its own pool, set by OPENBLAS_NUM_THREADS before import. The
runner (bench/train-vs-torch.mjs) measures both settings and keeps the better one.
"""
import argparse
import json
import math
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {  # ARCHITECTURE.md section 7, exactly
    "tiny": dict(vocab=256, layers=4, heads=4, d=128, T=128, B=16, positions=128),
    "small": dict(vocab=8192, layers=6, heads=6, d=384, T=256, B=8, positions=256),
    "gpt2-124m": dict(vocab=50257, layers=12, heads=12, d=768, T=64, B=4, positions=1024),
}


USE_SDPA = False


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        hs = C // self.heads
        q = q.view(B, T, self.heads, hs).transpose(1, 2)
        k = k.view(B, T, self.heads, hs).transpose(1, 2)
        v = v.view(B, T, self.heads, hs).transpose(1, 2)
        if USE_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # torch 1.13 has no scaled_dot_product_attention: the nanoGPT "slow" path
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.wpe = nn.Embedding(c["positions"], c["d"])
        self.blocks = nn.ModuleList([Block(c["d"], c["heads"]) for _ in range(c["layers"])])
        self.ln_f = nn.LayerNorm(c["d"])
        self.register_buffer("mask", torch.tril(torch.ones(c["T"], c["T"])).view(1, 1, c["T"], c["T"]))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, idx):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.blocks:
            x = b(x, self.mask)
        return self.ln_f(x) @ self.wte.weight.t()  # tied head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="tiny", choices=list(CONFIGS))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--seq-len", type=int)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA)")
    a = ap.parse_args()
    c = dict(CONFIGS[a.config])
    if a.batch:
        c["B"] = a.batch
    if a.seq_len:
        c["T"] = a.seq_len
    global USE_SDPA
    USE_SDPA = a.device == "cuda" and hasattr(F, "scaled_dot_product_attention")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(1)
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    model = GPT(c).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(1)

    def step():
        ids = torch.randint(0, c["vocab"], (c["B"], c["T"] + 1), generator=g).to(dev)
        x, y = ids[:, :-1], ids[:, 1:]
        if a.bf16 and a.device == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(x)
        else:
            logits = model(x)
        loss = F.cross_entropy(logits.float().view(-1, c["vocab"]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if a.device == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    total = sum(times)
    n = sum(p.numel() for p in model.parameters())
    flops_per_token = 6 * (n - c["positions"] * c["d"]) + 12 * c["layers"] * c["T"] * c["d"]
    tps = c["B"] * c["T"] * a.steps / total
    print(json.dumps({
        "config": a.config, "tokens_per_s": tps, "ms_per_step": 1000 * total / a.steps,
        "ms_per_step_min": 1000 * min(times), "ms_per_step_max": 1000 * max(times),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gflops": flops_per_token * tps / 1e9, "parameters": n,
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "device": a.device, "batch": c["B"], "seq_len": c["T"], "bf16": a.bf16, "sdpa": USE_SDPA,
    }))


if __name__ == "__main__":
    main()
