"""Cost of every registered fuser against ``concat``: forward + backward time per frame, parameters, peak memory.

B=8, T=512, D=128, two modalities (DESIGN §4): each fuser in training mode gets inputs that
require grad and runs forward + ``tokens.sum().backward()``. All fusers are timed in one
process, interleaved: every round times each fuser once, in a shuffled order, each time next to
``concat`` (alternating which goes first), and the ratio to ``concat`` is the median over rounds
of (fuser time / that ``concat`` time), so load drift on a shared machine cancels. A measurement
is the fastest of ``n`` consecutive steps, ``n`` (1 to ``--max-repeats``) chosen per fuser from its
warm-up time so it lasts about ``--budget`` seconds, the same ``n`` for the fuser and its ``concat``. Also ``rtf`` variants: each scorer, the attention
combine, static mode, the official preset, and the unfolded (plain masked) blend the folded
projection replaces. Runs on CPU (``torch.set_num_threads``) and on CUDA where present.

Peak memory: the peak of tensor memory allocated during one forward + backward beyond what
existed before it (inputs, parameters): on CPU from the torch profiler's memory timeline, on
CUDA from ``max_memory_allocated``. Writes ``bench/results/fusion_cost.md``.

    python bench/fusion_cost.py [--rounds 20] [--threads 2] [--only 'rtf*'] [--devices cpu cuda]
"""
from __future__ import annotations

import argparse
import datetime
import fnmatch
import inspect
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from mmfuse.fusion.base import FusionOutput
from mmfuse.fusion.rtf import RankEnhancingTokenFuser
from mmfuse.registry import FUSIONS, create_fusion, list_fusions

ROOT = Path(__file__).resolve().parents[1]
MODALITIES = ["rgb", "depth"]


class PlainBlendRTF(RankEnhancingTokenFuser):
    """``rtf`` with the blend applied to the ``B·T × D`` streams before the Linear (not folded)."""

    def forward(self, feats, mask):  # type: ignore[override]
        xs, _, _, _, beta = self._prepare(feats, mask)
        tokens = self.proj(torch.cat(self._blend(xs, beta), dim=-1))
        return FusionOutput(tokens=tokens, embeddings={m: feats[m] for m in self.modalities})


def variants() -> list[tuple[str, Callable[..., Any]]]:
    """(label, builder) for every registered fuser, then the ``rtf`` variants."""
    out: list[tuple[str, Callable[..., Any]]] = []
    for name in list_fusions():
        constructor = FUSIONS.get(name)
        low, high = getattr(constructor, "min_modalities", 1), getattr(constructor, "max_modalities", None)
        if len(MODALITIES) < low or (high is not None and len(MODALITIES) > high):
            continue
        options: dict[str, Any] = {}
        parameter = inspect.signature(constructor).parameters.get("modality")
        if parameter is not None and parameter.default in (None, inspect.Parameter.empty):
            options["modality"] = MODALITIES[0]
        label = name + (f"[modality={MODALITIES[0]}]" if options else "")
        out.append((label, lambda dim, n=name, o=options: create_fusion(n, modalities=MODALITIES, dim=dim, **o)))
    if "rtf" in list_fusions():
        for options in (
            dict(scorer="topk_svd"),
            dict(scorer="activation"),
            dict(scorer="bn_gamma"),
            dict(scorer="grad"),
            dict(mode="static"),
            dict(combine="attention"),
            dict(preset="official"),
        ):
            label = "rtf[" + ",".join(f"{k}={v}" for k, v in options.items()) + "]"
            out.append((label, lambda dim, o=options: create_fusion("rtf", modalities=MODALITIES, dim=dim, **o)))
        out.append(("rtf (plain blend, not folded)", lambda dim: PlainBlendRTF(MODALITIES, dim)))
    return out


def step(fuser, feats, mask) -> None:
    out = fuser(feats, mask)
    out.tokens.float().sum().backward()


def clear_grads(fuser, feats) -> None:
    fuser.zero_grad(set_to_none=True)
    for f in feats.values():
        f.grad = None


def timed_step(fuser, feats, mask, device: torch.device, repeats: int = 1) -> float:
    """The fastest of ``repeats`` forward + backward steps (robust to a busy machine)."""
    best = float("inf")
    for _ in range(repeats):
        clear_grads(fuser, feats)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step(fuser, feats, mask)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory_mb(fuser, feats, mask, device: torch.device) -> float | None:
    clear_grads(fuser, feats)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step(fuser, feats, mask)
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    try:  # the memory timeline is a private profiler API: report n/a where it is missing
        from torch.profiler import ProfilerActivity, profile
        from torch.profiler._memory_profiler import Action

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
            step(fuser, feats, mask)
        current = peak = 0
        for _, action, _, size in sorted(prof._memory_profile().timeline, key=lambda row: row[0]):
            if action == Action.CREATE:
                current += size
            elif action == Action.DESTROY:
                current -= size
            peak = max(peak, current)
        return peak / 2**20
    except Exception:  # noqa: BLE001
        return None


def bench_device(device: torch.device, args) -> list[dict[str, Any]]:
    torch.manual_seed(0)
    rows = []
    for label, builder in variants():
        if not (label == "concat" or any(fnmatch.fnmatchcase(label, p) for p in args.only)):
            continue
        try:
            fuser = builder(args.dim).to(device).train()
        except Exception as exc:  # noqa: BLE001
            rows.append({"label": label, "error": f"build failed: {exc}"})
            continue
        rows.append({"label": label, "fuser": fuser, "times": []})
    feats = {m: torch.randn(args.batch, args.frames, args.dim, device=device, requires_grad=True) for m in MODALITIES}
    mask = torch.ones(args.batch, args.frames, dtype=torch.bool, device=device)
    live = [r for r in rows if "fuser" in r]
    for row in live:  # warm-up, and a failing fuser is reported instead of timed
        try:
            warm = [timed_step(row["fuser"], feats, mask, device) for _ in range(args.warmup)]
            # Steps per measurement: about ``--budget`` seconds' worth, 1 to ``--max-repeats``.
            row["repeats"] = max(1, min(args.max_repeats, round(args.budget / max(min(warm), 1e-9))))
        except Exception as exc:  # noqa: BLE001
            row["error"] = f"forward/backward failed: {exc}"
    live = [r for r in live if "error" not in r]
    concat = next(r for r in rows if r["label"] == "concat")
    others = [r for r in live if r is not concat]
    order = random.Random(0)
    for round_ in range(args.rounds):
        order.shuffle(others)
        for row in others:  # each fuser beside its own concat step, alternating which goes first
            n = row["repeats"]  # the same number of steps for the fuser and its concat
            if round_ % 2:
                t_fuser = timed_step(row["fuser"], feats, mask, device, n)
                t_concat = timed_step(concat["fuser"], feats, mask, device, n)
            else:
                t_concat = timed_step(concat["fuser"], feats, mask, device, n)
                t_fuser = timed_step(row["fuser"], feats, mask, device, n)
            row["times"].append(t_fuser)
            row.setdefault("paired", []).append(t_concat)
            concat["times"].append(t_concat)
        print(f"[{device}] round {round_ + 1}/{args.rounds}", flush=True)
    concat["paired"] = concat["times"]
    frames = args.batch * args.frames
    for row in live:
        row["median_s"] = statistics.median(row["times"])
        row["us_per_frame"] = row["median_s"] / frames * 1e6
        ratios = sorted(t / c for t, c in zip(row["times"], row["paired"]))
        row["ratio"] = statistics.median(ratios)
        row["ratio_iqr"] = (ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4])
        row["params"] = sum(p.numel() for p in row["fuser"].parameters() if p.requires_grad)
        row["peak_mb"] = peak_memory_mb(row["fuser"], feats, mask, device)
    return rows


def render(results: dict[str, list[dict[str, Any]]], args, load: tuple[float, float]) -> str:
    cpu_model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    lines = [
        "# Fusion cost: every fuser against `concat`",
        "",
        f"Produced by `python bench/fusion_cost.py --rounds {args.rounds} --threads {' '.join(map(str, args.threads))}` (all fusers registered at that time).",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {cpu_model}, {os.cpu_count()} CPUs (`nproc` {len(os.sched_getaffinity(0))}), {platform.machine()}, {platform.system()}",
        f"- python {platform.python_version()}, torch {torch.__version__}, CPU threads {args.threads} (`torch.set_num_threads`)"
        + (f", CUDA: {torch.cuda.get_device_name(0)}" if any(k.startswith("cuda") for k in results) else ", no CUDA device"),
        f"- 1-minute load average: {load[0]:.2f} before, {load[1]:.2f} after (the machine is shared)",
        f"- workload: B={args.batch}, T={args.frames}, D={args.dim}, modalities {MODALITIES}, all frames valid; training mode,"
        " inputs require grad, forward + `tokens.sum().backward()`",
        f"- {args.warmup} warm-up steps, then {args.rounds} interleaved rounds: each round times every fuser once,"
        " in a shuffled order, each time next to `concat` (alternating which goes first); a measurement is the fastest of"
        f" n consecutive steps, n = 1 to {args.max_repeats} per fuser (about {args.budget} s of steps), the same n for its `concat`",
        "- time: median over rounds (`concat`: over all its steps); per frame = median / (B·T); **× concat**: median"
        " over rounds of the fuser's time / the time of the `concat` step beside it (interquartile range beside it)",
        "- peak memory: tensor memory allocated during one forward + backward beyond the inputs and parameters"
        " (CPU: torch profiler memory timeline; CUDA: `max_memory_allocated`)",
        "- parameters: trainable parameters of the fuser alone",
        "",
        "Goal (DESIGN §4): `rtf` with its defaults (paper: `svd` scorer, `adaptive`, channel stacking) at most 1.3× `concat`.",
    ]
    for device, rows in results.items():
        lines += [
            "",
            f"## {device}",
            "",
            "| fuser | params | fwd+bwd (ms) | per frame (µs) | × concat | IQR | peak memory (MiB) |",
            "|---|---:|---:|---:|---:|---|---:|",
        ]
        for row in rows:
            if "error" in row:
                lines.append(f"| `{row['label']}` | | | | | | {row['error']} |")
                continue
            peak = "n/a" if row["peak_mb"] is None else f"{row['peak_mb']:.1f}"
            low, high = row["ratio_iqr"]
            bold = "**" if row["label"] == "rtf" else ""
            lines.append(
                f"| {bold}`{row['label']}`{bold} | {row['params']:,} | {row['median_s'] * 1e3:.2f} | "
                f"{row['us_per_frame']:.3f} | {bold}{row['ratio']:.2f}×{bold} | {low:.2f}–{high:.2f} | {peak} |"
            )
    lines += [
        "",
        "`rtf (plain blend, not folded)` is `rtf` with its defaults but the blend applied to the",
        "`B·T × D` streams before the Linear; `rtf` folds the blend into the Linear's weight",
        "(a `D × M·D` operation), with the same output (`tests/test_rtf.py`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="CPU thread counts, one table each")
    parser.add_argument("--budget", type=float, default=0.15, help="seconds of steps per measurement (fastest counts)")
    parser.add_argument("--max-repeats", type=int, default=8, help="most steps per measurement")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--only", nargs="+", default=["*"], help="fnmatch patterns of fuser labels (concat always runs)")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], help="cuda is skipped where absent")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "fusion_cost.md")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    results = {}
    for name in args.devices:
        if name == "cuda" and not torch.cuda.is_available():
            continue
        for threads in args.threads if name == "cpu" else args.threads[:1]:
            torch.set_num_threads(threads)
            key = f"{name}, {threads} CPU thread{'s' if threads > 1 else ''}"
            results[key] = bench_device(torch.device(name), args)
            for row in results[key]:
                if "error" in row:
                    print(f"[{key}] {row['label']:<40} {row['error']}")
                else:
                    print(f"[{key}] {row['label']:<40} {row['us_per_frame']:8.3f} µs/frame  {row['ratio']:5.2f}x concat")
    text = render(results, args, (load_before, os.getloadavg()[0]))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
