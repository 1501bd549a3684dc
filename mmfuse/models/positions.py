"""Absolute frame positions: fixed sinusoids or a learned table, shared by every model that attends over time."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

KINDS = ("sinusoidal", "learned")


def sinusoidal_encoding(length: int, dim: int, device: torch.device | None = None,
                        dtype: torch.dtype = torch.float32) -> Tensor:
    """The fixed ``[length, dim]`` sine/cosine position table of Vaswani et al.; any length, any dim."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device, dtype=torch.float32)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table.to(dtype)


class Positions(nn.Module):
    """``forward(length, like) -> [length, dim]``: the positions of frames ``0 .. length-1``.

    ``kind="sinusoidal"``: :func:`sinusoidal_encoding` (any length, no parameter). ``"learned"``:
    a table of ``max_positions`` rows, Xavier-uniform initialised as a ``[1, max_positions, dim]``
    tensor like the official R3D code's ``pos_embedding``; frames past the table share its last
    row, so any length runs and a frame's position never depends on the input's length. Callers
    validate ``kind`` against :data:`KINDS` with their own option names.
    """

    def __init__(self, dim: int, kind: str = "sinusoidal", max_positions: int = 2000) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.empty(1, max_positions, dim)) if kind == "learned" else None
        if self.table is not None:
            nn.init.xavier_uniform_(self.table)

    def forward(self, length: int, like: Tensor) -> Tensor:
        """Positions on ``like``'s device, in its dtype (``like [..., dim]``)."""
        if self.table is None:
            return sinusoidal_encoding(length, like.shape[-1], like.device, like.dtype)
        rows = torch.arange(length, device=like.device).clamp(max=self.table.shape[1] - 1)
        return self.table[0, rows].to(like.dtype)
