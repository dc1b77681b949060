"""The PyTorch side of the CUDA kernel benchmark: the same cases as native/bench/cuda_bench.cpp
(matmul through cuBLAS, attention through scaled_dot_product_attention, the memory-bound
kernels), one JSON object per line with the same kernel/shape/dtype keys. Run by
scripts/gpu-check.sh; `python3 bench/torch_cuda.py [quick]`.
Timing: CUDA events around batches of calls after a warm-up; the median batch is reported."""
import json
import math
import sys

import torch
import torch.nn.functional as F

QUICK = "quick" in sys.argv[1:]
dev = "cuda"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def time_ms(fn):
    fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    fn()
    e.record()
    torch.cuda.synchronize()
    one = max(s.elapsed_time(e), 1e-3)
    reps = max(1, min(200, int(20.0 / one)))
    per = []
    for _ in range(3 if QUICK else 5):
        s.record()
        for _ in range(reps):
            fn()
        e.record()
        torch.cuda.synchronize()
        per.append(s.elapsed_time(e) / reps)
    per.sort()
    return per[len(per) // 2]


def emit(kernel, shape, dtype, ms, flops=0.0, nbytes=0.0, impl=""):
    rec = {"kernel": kernel, "shape": shape, "dtype": dtype, "ms": round(ms, 4), "impl": impl}
    if flops:
        rec["tflops"] = round(flops / (ms * 1e-3) / 1e12, 2)
    if nbytes:
        rec["gbps"] = round(nbytes / (ms * 1e-3) / 1e9, 1)
    print(json.dumps(rec), flush=True)


def bench_matmul(dtype, M, N, K, tb):
    shape = f"{M}x{N}x{K} {'NT' if tb else 'NN'}"
    a = torch.randn(M, K, device=dev)
    b = torch.randn(N, K, device=dev) if tb else torch.randn(K, N, device=dev)
    if dtype == "bf16":
        a, b = a.bfloat16(), b.bfloat16()
        fn = (lambda: a @ b.t()) if tb else (lambda: a @ b)
    elif dtype == "fp32-as-bf16":  # what an fp32 model pays under autocast: casts + bf16 GEMM
        fn = (lambda: (a.bfloat16() @ b.bfloat16().t()).float()) if tb else (lambda: (a.bfloat16() @ b.bfloat16()).float())
    else:  # fp32, or fp32-as-tf32: cuBLAS with TF32 tensor cores allowed
        fn = (lambda: a @ b.t()) if tb else (lambda: a @ b)
    torch.backends.cuda.matmul.allow_tf32 = dtype == "fp32-as-tf32"
    emit("matmul", shape, dtype, time_ms(fn), 2.0 * M * N * K, impl="cuBLAS")
    torch.backends.cuda.matmul.allow_tf32 = False


def bench_attention(B, H, T, D):
    shape = f"B{B} H{H} T{T} D{D} causal"
    fwd_flops = 4.0 * B * H * T * T * D / 2
    # Keyed by dtype against lmt_cuda_bench: our bf16 (tensor-core) attention against flash
    # SDPA in bf16, our fp32 attention against SDPA in fp32.
    for dtype, impl in ((torch.bfloat16, "sdpa-flash-bf16"), (torch.float32, "sdpa-fp32")):
        key = "bf16" if dtype == torch.bfloat16 else "fp32"
        q, k, v = (torch.randn(B, H, T, D, device=dev, dtype=dtype, requires_grad=True) for _ in range(3))
        g = torch.randn(B, H, T, D, device=dev, dtype=dtype)
        fwd = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)

        def fwd_bwd():
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            torch.autograd.grad(o, (q, k, v), g)

        with torch.no_grad():
            emit("attention_fwd", shape, key, time_ms(fwd), fwd_flops, impl=impl)
        emit("attention_fwd_bwd", shape, key, time_ms(fwd_bwd), fwd_flops * 3.5, impl=impl)


def bench_memory():
    N, C, V = 8192, 768, 50257
    x = torch.randn(N, C, device=dev)
    w, b = torch.randn(C, device=dev), torch.randn(C, device=dev)
    emit("layernorm_fwd", "8192x768", "fp32", time_ms(lambda: F.layer_norm(x, (C,), w, b, 1e-5)), nbytes=2.0 * N * C * 4, impl="torch")
    emit("gelu_fwd", "8192x768", "fp32", time_ms(lambda: F.gelu(x, approximate="tanh")), nbytes=2.0 * N * C * 4, impl="torch")
    rows = 1024 if QUICK else N
    logits = torch.randn(rows, V, device=dev, requires_grad=True)
    tg = (torch.arange(rows, device=dev) * 7919) % V

    def ce():
        loss = F.cross_entropy(logits, tg)
        torch.autograd.grad(loss, logits)

    emit("cross_entropy_fwd_bwd", f"{rows}x50257", "fp32", time_ms(ce), nbytes=3.0 * rows * V * 4, impl="torch")
    P = 124_000_000
    p = torch.nn.Parameter(torch.randn(P, device=dev) * 0.02)
    p.grad = torch.randn(P, device=dev) * 0.01
    opt = torch.optim.AdamW([p], lr=1e-4, weight_decay=0.1, fused=True)
    emit("adamw", "124M params", "fp32", time_ms(opt.step), nbytes=7.0 * P * 4, impl="torch fused AdamW")
    buf = torch.empty_like(p.data)
    emit("copy_d2d", "124M floats", "fp32", time_ms(lambda: buf.copy_(p.data)), nbytes=2.0 * P * 4, impl="torch")


def main():
    print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0)}), file=sys.stderr)
    R = 8192
    bench_matmul("bf16", 4096, 4096, 4096, 0)
    bench_matmul("bf16", 4096, 4096, 4096, 1)
    for (n, k) in ((2304, 768), (768, 768), (3072, 768), (768, 3072)):
        bench_matmul("bf16", R, n, k, 1)
    if not QUICK:
        bench_matmul("bf16", R, 50257, 768, 1)
    bench_matmul("fp32", 4096, 4096, 4096, 0)
    bench_matmul("fp32-as-bf16", 4096, 4096, 4096, 0)
    bench_matmul("fp32-as-tf32", 4096, 4096, 4096, 0)
    bench_attention(8, 12, 1024, 64)
    bench_attention(8, 12, 256, 64)
    bench_memory()


if __name__ == "__main__":
    main()
