"""FUTR-style anticipation decoder: learnable future queries cross-attend to the observed frames."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.temporal.transformer import sinusoidal_encoding


class DecoderLayer(nn.Module):
    """DETR decoder layer, pre-norm (default) or post-norm (``norm_first=False``, DETR's and the
    official R3D code's): positions are added to queries and keys, never to values."""

    def __init__(self, dim: int, heads: int, dropout: float, norm_first: bool = True) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, tgt: Tensor, query_pos: Tensor, memory: Tensor, memory_pos: Tensor, padding: Tensor) -> Tensor:
        if not self.norm_first:
            q = tgt + query_pos
            tgt = self.norm1(tgt + self.drop(self.self_attn(q, q, tgt, need_weights=False)[0]))
            attended = self.cross_attn(tgt + query_pos, memory + memory_pos, memory, key_padding_mask=padding,
                                       need_weights=False)[0]
            tgt = self.norm2(tgt + self.drop(attended))
            return self.norm3(tgt + self.drop(self.mlp(tgt)))
        q = self.norm1(tgt)
        tgt = tgt + self.drop(self.self_attn(q + query_pos, q + query_pos, q, need_weights=False)[0])
        q = self.norm2(tgt) + query_pos
        attended = self.cross_attn(q, memory + memory_pos, memory, key_padding_mask=padding, need_weights=False)[0]
        tgt = tgt + self.drop(attended)
        return tgt + self.drop(self.mlp(self.norm3(tgt)))


class AnticipationDecoder(nn.Module):
    """``forward(memory [B, T, dim], mask bool[B, T]) -> (class_logits [B, N_q, C + 1], durations [B, N_q])``.

    As in FUTR, the decoder input is zeros and the ``num_queries`` learned query
    embeddings act as query positions (DETR); the observed frames get sinusoidal
    positions on their keys. Logit index ``num_classes`` is the end class.
    Durations go through a sigmoid: each is the fraction of the future window its
    segment covers, in (0, 1). FUTR regresses an unbounded value and normalises it
    at decoding; a sigmoid keeps every output a valid fraction during training too,
    and decoding may still renormalise the durations before the end query.

    The official R3D code's choices, as options: ``norm="post"`` (post-norm layers) and
    ``positions="learned"`` (a learned, Xavier-initialised table of ``max_positions`` rows on the
    observed frames' keys; frames past it share its last row).
    """

    def __init__(
        self,
        dim: int,
        num_classes: int,
        num_queries: int = 8,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        norm: str = "pre",
        positions: str = "sinusoidal",
        max_positions: int = 2000,
    ) -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ConfigError(f"task.decoder_norm must be pre or post, got {norm!r}")
        if positions not in ("sinusoidal", "learned"):
            raise ConfigError(f"task.decoder_positions must be sinusoidal or learned, got {positions!r}")
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.query_embed = nn.Embedding(num_queries, dim)
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, dropout, norm == "pre") for _ in range(layers))
        self.learned_positions = None
        if positions == "learned":
            self.learned_positions = nn.Parameter(torch.empty(1, max_positions, dim))
            nn.init.xavier_uniform_(self.learned_positions)
        self.norm = nn.LayerNorm(dim)
        self.class_head = nn.Linear(dim, num_classes + 1)
        self.duration_head = nn.Linear(dim, 1)

    def forward(self, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        b, t, dim = memory.shape
        query_pos = self.query_embed.weight.unsqueeze(0).expand(b, -1, -1)
        if self.learned_positions is None:
            memory_pos = sinusoidal_encoding(t, dim, memory.device, memory.dtype).unsqueeze(0)
        else:
            rows = torch.arange(t, device=memory.device).clamp(max=self.learned_positions.shape[1] - 1)
            memory_pos = self.learned_positions[:, rows].to(memory.dtype)
        # A sample with no valid frame attends to all of them rather than producing NaN.
        padding = ~mask & mask.any(dim=1, keepdim=True)
        tgt = torch.zeros_like(query_pos)
        for layer in self.layers:
            tgt = layer(tgt, query_pos, memory, memory_pos, padding)
        tgt = self.norm(tgt)
        return self.class_head(tgt), torch.sigmoid(self.duration_head(tgt).squeeze(-1))
