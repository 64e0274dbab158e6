#!/usr/bin/env python3
"""Measure what ersatz's Hopper efficiency parameters stand for, on one GPU.

Run on a machine with an H200 (or any CUDA GPU) and PyTorch >= 2.5:

    python3 scripts/measure_h200.py --out measured.yaml

It measures, with CUDA events, median of repeated runs after warm-up:

1. bf16 GEMM rate against the token count M (M x 8192 x 28672, Llama-70B's
   FFN up-projection per device at TP1), the `gemm_eff` parameter and how few
   tokens make a GEMM bound by weight bandwidth;
2. device copy bandwidth (a large tensor copy), the `mem_eff` parameter;
3. decode-attention KV-read bandwidth (one query token per sequence against a
   cached context, GQA 64/8 heads of 128), the attention memory efficiency;
4. grouped expert GEMMs against rows per expert (torch.bmm over one EP
   rank's experts, gate-up then down, at Qwen3-235B's and DeepSeek-V3's
   expert shapes), next to one dense GEMM of the same FLOPs: what the
   routed experts reach compared with a dense GEMM, the gap docs/perf.md
   leaves open for MoE prefill;
5. the decode step of a Llama-3.1-8B-shaped model with random bf16 weights
   (32 layers, GQA 32/8, FFN 14336) at several batch sizes and contexts,
   captured in a CUDA graph as serving engines run it; each becomes a
   `measured-here` case in the corpus format (metric tpot_ms_mean, phase
   decode, load batch_per_chip, context_tokens), which `ersatz validate
   --corpus` then checks.

The script was written for the project's device lease; it has not been run
yet (no GPU was lent to the session that wrote it). Its output is data, not a
parameter change: fold the figures into params.yaml by hand, with their
provenance, only if they agree with what the parameters claim to represent.
"""

import argparse
import json
import statistics
import sys

import torch
import torch.nn.functional as F


def timed(fn, reps=20, warmup=5):
    """Median milliseconds of fn() over reps runs."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def gemm_sweep(dev):
    k, n = 8192, 28672
    w = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
    rows = []
    for m in [1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]:
        x = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        ms = timed(lambda: x @ w)
        flops = 2.0 * m * k * n
        bytes_ = (k * n + m * k + m * n) * 2
        rows.append({"m": m, "ms": ms, "tflops": flops / ms / 1e9, "gbps": bytes_ / ms / 1e6})
    return rows


def copy_bandwidth(dev):
    n = 4 << 30  # 4 GiB of bf16 elements' bytes
    a = torch.empty(n // 2, device=dev, dtype=torch.bfloat16)
    b = torch.empty_like(a)
    ms = timed(lambda: b.copy_(a), reps=10)
    return {"bytes": n, "ms": ms, "gbps_read_plus_write": 2 * n / ms / 1e6}


def grouped_experts(dev):
    """Expert GEMMs as a batched matmul over one EP rank's experts."""
    shapes = {
        "qwen3-235b-ep8": (16, 4096, 1536),    # experts per rank, hidden, expert width
        "deepseek-v3-ep8": (32, 7168, 2048),
    }
    out = []
    for name, (e, h, i) in shapes.items():
        up = torch.randn(e, h, 2 * i, device=dev, dtype=torch.bfloat16)
        down = torch.randn(e, i, h, device=dev, dtype=torch.bfloat16)
        for rows in [1, 4, 16, 64, 128, 256, 512, 1024, 2048]:
            x = torch.randn(e, rows, h, device=dev, dtype=torch.bfloat16)
            y = torch.randn(e, rows, i, device=dev, dtype=torch.bfloat16)
            ms = timed(lambda: (torch.bmm(x, up), torch.bmm(y, down)))
            flops = 2.0 * e * rows * h * 3 * i
            wbytes = e * h * 3 * i * 2
            # One dense GEMM with the same FLOPs: all the rows against one
            # expert-sized weight repeated e times along N.
            xd = torch.randn(e * rows, h, device=dev, dtype=torch.bfloat16)
            wd = torch.randn(h, 3 * i, device=dev, dtype=torch.bfloat16)
            dense_ms = timed(lambda: xd @ wd)
            out.append({"shape": name, "experts": e, "rows_per_expert": rows, "ms": ms,
                        "tflops": flops / ms / 1e9, "weight_gbps": wbytes / ms / 1e6,
                        "dense_same_flops_tflops": flops / dense_ms / 1e9})
    return out


def decode_attention(dev):
    heads, kv_heads, dim = 64, 8, 128
    rows = []
    for batch, ctx in [(1, 8192), (16, 4096), (64, 4096), (128, 2048)]:
        q = torch.randn(batch, heads, 1, dim, device=dev, dtype=torch.bfloat16)
        k = torch.randn(batch, kv_heads, ctx, dim, device=dev, dtype=torch.bfloat16)
        v = torch.randn_like(k)
        ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True))
        kv_bytes = 2 * batch * kv_heads * ctx * dim * 2
        rows.append({"batch": batch, "context": ctx, "ms": ms, "kv_gbps": kv_bytes / ms / 1e6})
    return rows


class Llama8BDecode:
    """One decode step of a Llama-3.1-8B-shaped model, random bf16 weights."""

    layers, hidden, heads, kv_heads, dim, ffn, vocab = 32, 4096, 32, 8, 128, 14336, 128256

    def __init__(self, dev, batch, ctx):
        bf = torch.bfloat16
        h, d = self.hidden, self.dim
        self.x = torch.randn(batch, h, device=dev, dtype=bf)
        self.w = []
        for _ in range(self.layers):
            self.w.append({
                "qkv": torch.randn(h, (self.heads + 2 * self.kv_heads) * d, device=dev, dtype=bf) * 0.02,
                "o": torch.randn(self.heads * d, h, device=dev, dtype=bf) * 0.02,
                "gate_up": torch.randn(h, 2 * self.ffn, device=dev, dtype=bf) * 0.02,
                "down": torch.randn(self.ffn, h, device=dev, dtype=bf) * 0.02,
                "k": torch.randn(batch, self.kv_heads, ctx, d, device=dev, dtype=bf),
                "v": torch.randn(batch, self.kv_heads, ctx, d, device=dev, dtype=bf),
            })
        self.head = torch.randn(h, self.vocab, device=dev, dtype=bf) * 0.02
        self.batch = batch

    def step(self):
        x, b, d = self.x, self.batch, self.dim
        for w in self.w:
            y = F.rms_norm(x, (self.hidden,))
            qkv = y @ w["qkv"]
            q = qkv[:, : self.heads * d].view(b, self.heads, 1, d)
            a = F.scaled_dot_product_attention(q, w["k"], w["v"], enable_gqa=True)
            x = x + a.reshape(b, self.heads * d) @ w["o"]
            y = F.rms_norm(x, (self.hidden,))
            g, u = (y @ w["gate_up"]).chunk(2, dim=-1)
            x = x + (F.silu(g) * u) @ w["down"]
        return F.rms_norm(x, (self.hidden,)) @ self.head


def decode_steps(dev):
    cases = []
    for batch, ctx in [(1, 2048), (16, 2048), (64, 2048), (128, 1024)]:
        model = Llama8BDecode(dev, batch, ctx)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                model.step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model.step()
        ms = timed(graph.replay)
        cases.append({"batch": batch, "context": ctx, "ms": ms})
        del model, graph
        torch.cuda.empty_cache()
    return cases


def corpus_rows(gpu, steps, chip):
    lines = []
    for s in steps:
        lines.append(f"""  - id: measured-here-{chip}-llama31-8b-decode-b{s['batch']}-c{s['context']}
    source: "scripts/measure_h200.py on one {gpu}: a CUDA-graph decode step of a Llama-3.1-8B-shaped model with random bf16 weights"
    claim: measured-here
    model: meta-llama/Llama-3.1-8B-Instruct
    chip: {chip}
    engine: other
    precision: {{weights: bf16, activations: bf16, kv_cache: bf16}}
    serving: aggregated
    instances:
      - {{role: mixed, count: 1, chips: 1, tp: 1}}
    workload:
      input_tokens: 0
      output_tokens: 1
      context_tokens: {s['context']}
      load: {{batch_per_chip: {s['batch']}}}
    phase: decode
    metric: tpot_ms_mean
    measured: {s['ms']:.4f}
    note: "median of 20 graph replays after warm-up; no sampling, no scheduler: the device time of one step"
""")
    return "version: 1\ncases:\n" + "".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="measured.yaml", help="corpus file to write")
    ap.add_argument("--json", default="microbench.json", help="microbenchmark figures to write")
    ap.add_argument("--chip", default="h200-sxm", help="ersatz chip id of this GPU")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("measure_h200.py: no CUDA device")
    dev = torch.device("cuda")
    gpu = torch.cuda.get_device_name(dev)
    results = {"gpu": gpu, "torch": torch.__version__,
               "gemm_bf16": gemm_sweep(dev), "copy": copy_bandwidth(dev),
               "decode_attention": decode_attention(dev),
               "grouped_experts": grouped_experts(dev)}
    steps = decode_steps(dev)
    results["decode_steps"] = steps
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    with open(args.out, "w") as f:
        f.write(corpus_rows(gpu, steps, args.chip))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
