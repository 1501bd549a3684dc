"""Extract per-frame features from frame folders or video files with a timm backbone.

INPUT is a folder holding one sub-folder of frames (.png, .jpg, ...) per video and/or video
files (one video each, read with PyAV), a single video file, or a single folder of frames.
Features go to OUTPUT_ROOT/features/<modality>/<video>.npy as float32 (D, T), the layout
that dataset=folder reads; add mapping.txt, groundTruth/ and splits/ to train on them.
Videos whose feature file exists are skipped, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mmfuse.engine.device import resolve_device
from mmfuse.features.extract import extract_videos, split_finished
from mmfuse.features.frames import find_sources
from mmfuse.features.timm_backbone import FrameEncoder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "examples:\n"
        "  mmfuse extract videos/ data/ --weights resnet50.tv_in1k.safetensors --model resnet50.tv_in1k\n"
        "  mmfuse extract depth_frames/ data/ --depth --depth-max 10000 --hub"
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="folder of frame folders and/or video files")
    parser.add_argument("output", type=Path, metavar="OUTPUT_ROOT", help="dataset root to write features/ under")
    parser.add_argument("--modality", help="feature sub-folder name (default: rgb, or depth with --depth)")
    parser.add_argument(
        "--model", default="resnet50",
        help="timm model name; name a pretrained tag (resnet50.tv_in1k) so the preprocessing matches its weights",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", type=Path, metavar="FILE", help="local .pth/.pt/.safetensors weights")
    weights.add_argument("--hub", action="store_true", help="download pretrained weights from the timm hub")
    parser.add_argument("--img-size", type=int, help="input resolution (default: the model's own)")
    parser.add_argument("--batch-size", type=int, default=32, help="frames per forward pass (default: 32)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    parser.add_argument(
        "--depth", action="store_true",
        help="frames are single-channel depth maps (8- or 16-bit), replicated to three channels",
    )
    parser.add_argument(
        "--depth-max", type=float,
        help="divide depth by this and clip to [0, 1] (default: the bit depth's maximum, 255 or 65535)",
    )
    parser.add_argument("--every", type=int, default=1, help="keep every N-th frame (default: 1, all)")
    parser.add_argument("--fps", type=float, help="resample video files to at most this frame rate first")
    parser.add_argument("--overwrite", action="store_true", help="re-extract videos whose features exist")


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    modality = args.modality or ("depth" if args.depth else "rgb")
    sources = find_sources(args.input)
    todo, finished = (sources, []) if args.overwrite else split_finished(sources, args.output, modality)
    out_dir = args.output / "features" / modality
    if finished:
        console.print(f"{len(finished)} of {len(sources)} videos already have features in {escape(str(out_dir))}; "
                      "skipped (--overwrite re-extracts them)")
    if not todo:
        console.print("[green]Nothing to extract.[/green]")
        return 0
    device = resolve_device(args.device)
    encoder = FrameEncoder(args.model, weights=args.weights, hub=args.hub, img_size=args.img_size)
    if args.weights is None and not args.hub:
        console.print(f"[yellow]warning:[/yellow] {escape(args.model)} is randomly initialised; "
                      "pass --weights FILE or --hub for pretrained features")
    _, height, width = encoder.data_config["input_size"]
    console.print(f"{escape(args.model)}: {encoder.dim}-d features from {height}x{width} input on {device}")
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
    ) as progress:
        report = extract_videos(
            encoder, todo, args.output, modality, device,
            batch_size=args.batch_size, depth=args.depth, depth_max=args.depth_max,
            every=args.every, fps=args.fps, progress=progress,
        )
    for name, message in report.failed.items():
        console.print(f"[red]error:[/red] video {escape(name)!r}: {escape(message)}")
    summary = f"{len(report.written)} written, {len(finished)} skipped, {len(report.failed)} failed, in {out_dir}"
    if report.failed:
        console.print(f"[red]{escape(summary)}[/red]")
        return 2
    console.print(f"[green]{escape(summary)}[/green]")
    return 0
