"""Attention over time restricted to a band of frames, computed in blocks so its cost is linear in T."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_BLOCK = 128  # query frames per block of the banded computation


def guard(allowed: Tensor) -> Tensor:
    """Let a query row with no allowed key attend to every key, so it stays finite.

    Such a row only ever belongs to a padded query (a valid query may always attend
    to its own frame), and no valid query attends to a padded one, so the choice
    never reaches a valid output.
    """
    return allowed | ~allowed.any(dim=-1, keepdim=True)


def band_attention(
    q: Tensor, k: Tensor, v: Tensor, valid: Tensor, before: int | None, after: int | None, dropout_p: float = 0.0
) -> Tensor:
    """Attention where the query at frame t sees the valid keys of frames ``t - before .. t + after``.

    ``q`` is ``[B, H, T, Mq, d]`` (``Mq`` tokens per frame), ``k``/``v`` ``[B, H, T, Mk, d]``,
    ``valid`` ``bool[B, T]``; ``None`` leaves that side unbounded. Every query token of a frame
    sees every key token of the frames in its band. When both sides are bounded and the band
    is shorter than T, queries are cut into blocks of 128 frames, each attending to its own
    frames plus ``before`` frames in front and ``after`` behind, so memory is
    ``O(T * (128 + before + after))``. Blocks start at frame 0 and masked keys contribute
    nothing, so a frame's output does not depend on how much padding follows it.
    """
    b, h, t, mq, d = q.shape
    mk = k.shape[3]
    if before is None or after is None or (before >= t - 1 and after >= t - 1):
        times = torch.arange(t, device=q.device)
        rel = times[:, None] - times[None, :]  # query time - key time
        band = torch.ones(t, t, dtype=torch.bool, device=q.device)
        if before is not None:
            band &= rel <= before
        if after is not None:
            band &= rel >= -after
        allowed = guard(band[None] & valid[:, None, :])  # [B, Tq, Tk]
        mask = allowed[:, :, None, :, None].expand(b, t, mq, t, mk).reshape(b, 1, t * mq, t * mk)
        out = F.scaled_dot_product_attention(
            q.reshape(b, h, t * mq, d), k.reshape(b, h, t * mk, d), v.reshape(b, h, t * mk, d),
            attn_mask=mask, dropout_p=dropout_p,
        )
        return out.view(b, h, t, mq, d)

    block = max(1, min(_BLOCK, before + after + 1))
    n = -(-t // block)
    span = block + before + after  # key frames of one block: its own, ``before`` in front, ``after`` behind
    tail = n * block - t

    def key_blocks(x: Tensor) -> Tensor:  # [B, H, T, Mk, d] -> [B * n, H, span * Mk, d]
        padded = F.pad(x, (0, 0, 0, 0, before, tail + after))
        blocks = padded.unfold(2, span, block).permute(0, 2, 1, 5, 3, 4)  # [B, n, H, span, Mk, d]
        return blocks.reshape(b * n, h, span * mk, d)

    queries = F.pad(q, (0, 0, 0, 0, 0, tail)).unflatten(2, (n, block)).transpose(1, 2)
    queries = queries.reshape(b * n, h, block * mq, d)
    key_valid = F.pad(valid, (before, tail + after), value=False).unfold(1, span, block)  # [B, n, span]
    i = torch.arange(block, device=q.device)[:, None]  # query offset in its block
    j = torch.arange(span, device=q.device)[None, :]  # key offset from the block start - before
    band = (j >= i) & (j <= i + before + after)
    allowed = guard(band[None, None] & key_valid[:, :, None, :])  # [B, n, block, span]
    mask = allowed[:, :, :, None, :, None].expand(b, n, block, mq, span, mk).reshape(b * n, 1, block * mq, span * mk)
    out = F.scaled_dot_product_attention(queries, key_blocks(k), key_blocks(v), attn_mask=mask, dropout_p=dropout_p)
    out = out.view(b, n, h, block, mq, d).transpose(1, 2).reshape(b, h, n * block, mq, d)
    return out[:, :, :t]
