"""Registry behaviour: third-party plugins through entry points, unknown names, filters, duplicates."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

import mmfuse.registry as registry
from mmfuse.errors import ConfigError
from mmfuse.fusion.base import FusionOutput
from mmfuse.registry import FUSIONS, create_fusion, list_fusions, register_fusion

FAKE_FUSER = '''
from mmfuse.fusion.base import Fuser, FusionOutput
from mmfuse.registry import register_fusion
import torch


@register_fusion("fake_mean")
class FakeMean(Fuser):
    """Mean of the modality tokens."""

    def forward(self, feats, mask):
        embeddings = {m: feats[m] for m in self.modalities}
        return FusionOutput(torch.stack(list(embeddings.values())).mean(0), embeddings)
'''


def install_distribution(root: Path, module: str, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write a module and a ``*.dist-info`` declaring it under ``mmfuse.plugins``, and put ``root`` on sys.path."""
    (root / f"{module}.py").write_text(source)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[mmfuse.plugins]\nfake = {module}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, module, raising=False)
    importlib.invalidate_caches()


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch):
    """Load built-ins, then let the test register and reload plugins on a throwaway copy."""
    list_fusions()
    monkeypatch.setattr(FUSIONS, "_entries", dict(FUSIONS._entries))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    yield
    for module in ("mmfuse_fakeplugin", "mmfuse_brokenplugin"):
        sys.modules.pop(module, None)


def test_third_party_plugin_registers_through_entry_points(tmp_path, monkeypatch, fresh_registry) -> None:
    assert "fake_mean" not in FUSIONS._entries
    install_distribution(tmp_path, "mmfuse_fakeplugin", FAKE_FUSER, monkeypatch)
    assert "fake_mean" in list_fusions()
    fuser = create_fusion("fake_mean", modalities=["a", "b"], dim=4)
    feats = {"a": torch.ones(1, 3, 4), "b": 3 * torch.ones(1, 3, 4)}
    out = fuser(feats, torch.ones(1, 3, dtype=torch.bool))
    assert isinstance(out, FusionOutput)
    torch.testing.assert_close(out.tokens, 2 * torch.ones(1, 3, 4))


def test_broken_plugin_warns_and_breaks_nothing(tmp_path, monkeypatch, fresh_registry) -> None:
    broken = "raise ImportError('missing dependency xyz')\n"
    install_distribution(tmp_path, "mmfuse_brokenplugin", broken, monkeypatch)
    with pytest.warns(RuntimeWarning, match="xyz"):
        names = list_fusions()
    assert {"concat", "single"} <= set(names)
    assert list_fusions() == names  # loaded once: no second warning, same answer


def test_unknown_name_names_the_closest_and_the_list_command() -> None:
    with pytest.raises(ConfigError) as info:
        create_fusion("conact", modalities=["a"], dim=8)
    message = str(info.value)
    assert "concat" in message and "mmfuse list fusion" in message and "fusion" in message


def test_list_filters() -> None:
    names = list_fusions()
    assert names == sorted(names)
    assert list_fusions("c*") == [n for n in names if n.startswith("c")]
    assert "concat" in list_fusions("c*")
    assert "concat" not in list_fusions(exclude="conc*")
    assert list_fusions(["concat", "single"]) == ["concat", "single"]
    assert list_fusions("nothing-matches*") == []


def test_duplicate_registration_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    list_fusions()
    monkeypatch.setattr(FUSIONS, "_entries", dict(FUSIONS._entries))
    original = FUSIONS.get("concat")
    with pytest.raises(ValueError, match="concat"):

        @register_fusion("concat")
        class Impostor(torch.nn.Module):
            pass

    assert FUSIONS.get("concat") is original


def test_unknown_option_is_a_config_error_listing_the_options(tiny_paths, capsys) -> None:
    with pytest.raises(ConfigError, match=r"fusion 'concat' has no option 'ratio'; its options: modalities, dim"):
        create_fusion("concat", modalities=["a"], dim=4, ratio=0.1)
    from mmfuse.cli import main

    assert main(["run", "+dataset.shuffle=true", "dataset.num_train=4", "dataset.num_test=2", *tiny_paths]) == 2
    captured = capsys.readouterr()
    assert "Unknown key dataset.shuffle" in captured.err and "The keys of dataset 'synthetic'" in captured.err
    assert "Traceback" not in captured.out + captured.err
