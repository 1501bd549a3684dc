"""timm image backbones that turn frames into per-frame features (for ``mmfuse extract``).

Not a registered encoder: those map features to features inside a model, while a backbone
maps frames to the features a dataset stores. Weights come from a local file, or from the
timm hub only when asked; otherwise the backbone is randomly initialised. timm is imported
on first use, so importing ``mmfuse.encoders`` stays fast.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import torch
from torch import Tensor, nn

from mmfuse.errors import ConfigError


def _unknown_model(name: str) -> ConfigError:
    import timm

    close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
    hint = f" Closest: {', '.join(close)}." if close else ""
    return ConfigError(f"Unknown timm model {name!r}.{hint} timm.list_models('*{name[:4]}*') lists similar names.")


def create_backbone(name: str = "resnet50", weights: str | Path | None = None, hub: bool = False) -> nn.Module:
    """timm model ``name`` without its classifier (``num_classes=0``), in eval mode.

    Weights: ``weights`` (a ``.pth``/``.pt`` state dict or ``.safetensors`` file in timm's
    naming), else the timm hub when ``hub``, else random initialisation with seed 0.
    """
    import timm

    if not timm.is_model(name):
        raise _unknown_model(name)
    if weights is not None and hub:
        raise ConfigError("both a weights file and the timm hub were asked for; choose one")
    if weights is not None and not Path(weights).is_file():
        raise ConfigError(f"{weights}: weights file not found; give the path of a .pth, .pt or .safetensors file")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # a random backbone is the same in every run, so resumed runs agree
            model = timm.create_model(name, pretrained=hub, num_classes=0)
    except Exception as exc:  # hub failures surface as OSError, RuntimeError or huggingface_hub errors
        if not hub:
            raise
        raise ConfigError(
            f"cannot fetch pretrained weights of {name!r} from the timm hub ({exc}); go online, "
            "or download the weights and pass them with --weights FILE"
        ) from exc
    if weights is not None:
        load_weights(model, Path(weights))
    return model.eval()


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a timm-style state dict into ``model``; classifier weights in the file are dropped.

    Anything else that does not fit (missing, unexpected or differently shaped tensors) is a
    ``ConfigError`` naming the first few, never a silently half-loaded model.
    """
    from timm.models import load_state_dict

    try:
        state = load_state_dict(str(path))
    except Exception as exc:  # torch.load and safetensors raise many types on a bad file
        raise ConfigError(
            f"{path}: cannot be read as a weights file ({exc}); give a .pth/.pt state dict or a .safetensors file"
        ) from exc
    own = model.state_dict()
    heads = model.pretrained_cfg.get("classifier") or ()
    heads = (heads,) if isinstance(heads, str) else tuple(heads)
    state = {
        key: value for key, value in state.items()
        if key in own or not any(key.startswith(f"{head}.") for head in heads)
    }
    unexpected = [key for key in state if key not in own]
    missing = [key for key in own if key not in state and not key.endswith("num_batches_tracked")]
    reshaped = [
        f"{key} {_shape(state[key])} vs {_shape(own[key])}"
        for key in state
        if key in own and _shape(state[key]) != _shape(own[key])
    ]
    problems = [
        f"{len(keys)} {what} (e.g. {', '.join(keys[:3])})"
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("of another shape", reshaped))
        if keys
    ]
    if problems:
        architecture = model.pretrained_cfg.get("architecture", type(model).__name__)
        raise ConfigError(
            f"{path}: does not fit timm model {architecture!r}: {'; '.join(problems)}; "
            "give weights saved from this architecture"
        )
    model.load_state_dict(state, strict=False)


def _shape(value: object) -> str:
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


class FrameEncoder(nn.Module):
    """A timm backbone behind timm's evaluation preprocessing: frames in [0, 1] to features.

    ``forward`` takes ``[N, C, H, W]`` floats in [0, 1] with ``C`` 3, or 1 for depth maps,
    which are replicated to three channels. Resize, centre crop and normalisation follow
    the model's data config (``timm.data.resolve_data_config``), with ``img_size`` overriding
    its resolution; they run batched on the frames' device.
    """

    def __init__(
        self,
        model: str = "resnet50",
        weights: str | Path | None = None,
        hub: bool = False,
        img_size: int | None = None,
    ) -> None:
        super().__init__()
        from timm.data import create_transform, resolve_data_config

        if img_size is not None and img_size < 8:
            raise ConfigError(f"image size must be at least 8 pixels, got {img_size}")
        self.model_name = model
        self.backbone = create_backbone(model, weights, hub)
        args = {} if img_size is None else {"img_size": img_size}
        self.data_config = resolve_data_config(args=args, model=self.backbone)
        self.transform = create_transform(**self.data_config)
        self.dim = self._probe()

    def _probe(self) -> int:
        """Feature width, from one blank frame; a resolution the model rejects is a ``ConfigError``."""
        _, height, width = self.data_config["input_size"]
        try:
            with torch.inference_mode():
                features = self.backbone(torch.zeros(1, 3, height, width))
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise ConfigError(
                f"timm model {self.model_name!r} rejects {height}x{width} input ({exc}); choose another image size"
            ) from exc
        if features.ndim != 2:
            raise ConfigError(
                f"timm model {self.model_name!r} gives {tuple(features.shape)} outputs, not one vector per frame"
            )
        return features.shape[1]

    def preprocess(self, frames: Tensor) -> Tensor:
        if frames.ndim != 4 or frames.shape[1] not in (1, 3):
            raise ValueError(f"expected [N, 1 or 3, H, W] frames, got {tuple(frames.shape)}")
        return self.transform(frames.expand(-1, 3, -1, -1))

    def forward(self, frames: Tensor) -> Tensor:
        return self.backbone(self.preprocess(frames))
