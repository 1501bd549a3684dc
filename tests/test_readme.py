"""The README's promises: the quickstart commands CI runs, and the one-file fusion example."""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from mmfuse import create_fusion
from mmfuse.cli import main
from mmfuse.registry import FUSIONS
from tiny_config import TINY

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_quickstart_has_exactly_the_two_commands():
    commands = re.findall(r"```bash\n(python3 -m venv[^\n]*)\n```", README)
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/mmfuse bench",
        'python3 -m venv .venv && .venv/bin/pip install ".[dev]" && .venv/bin/pytest',
    ]


def test_ci_runs_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text()
    pattern = re.search(r"grep -m 1 -E '([^']+)' README.md", script).group(1)
    found = [line for line in README.splitlines() if re.search(pattern, line)]
    assert found[0].endswith(".venv/bin/pytest")


def test_fusion_example_registers_runs_and_benches(tmp_path, monkeypatch, capsys):
    FUSIONS.list()  # the built-in fusers load into the registry the test restores afterwards
    monkeypatch.setattr(FUSIONS, "_entries", dict(FUSIONS._entries))
    (example,) = [block for block in python_blocks() if "@register_fusion" in block]
    exec(compile(example, "README.md", "exec"), {})

    fuser = create_fusion("mean", modalities=["a", "b"], dim=8)
    out = fuser({"a": torch.randn(2, 5, 8), "b": torch.randn(2, 5, 8)}, torch.ones(2, 5, dtype=torch.bool))
    assert out.tokens.shape == (2, 5, 8) and set(out.embeddings) == {"a", "b"}

    configs = tmp_path / "configs" / "fusion"
    configs.mkdir(parents=True)
    (configs / "mean.yaml").write_text("name: mean\n")
    paths = [f"paths.runs={tmp_path / 'runs'}", f"paths.leaderboards={tmp_path / 'lb'}"]
    args = ["bench", "fusion=concat,mean", "task=segmentation", "seed=1", *TINY, *paths]
    assert main([*args, f"hydra.searchpath=[file://{tmp_path / 'configs'}]"]) == 0
    cells = {json.loads(p.read_text())["cell"] for p in (tmp_path / "runs").rglob("result.json")}
    assert cells == {"concat", "mean"}


def test_python_usage_example_runs():
    usage = next(block for block in python_blocks() if "list_fusions(\"c*\")" in block)
    namespace = {"x_rgb": torch.randn(2, 5, 7), "x_depth": torch.randn(2, 5, 7)}
    namespace["mask"] = torch.ones(2, 5, dtype=torch.bool)
    usage = usage.replace("dim=128", "dim=7")
    exec(compile(usage, "README.md", "exec"), namespace)
    assert namespace["out"].tokens.shape == (2, 5, 7)
