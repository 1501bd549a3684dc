"""FUTR-style anticipation decoder: learnable future queries cross-attend to the observed frames."""
from __future__ import annotations

from torch import Tensor, nn

from mmfuse.errors import ConfigError
from mmfuse.models.attention import DecoderBlock, dense, guard
from mmfuse.models.positions import KINDS, Positions


class AnticipationDecoder(nn.Module):
    """``forward(memory [B, T, dim], mask bool[B, T]) -> (class_logits [B, N_q, C + 1], durations [B, N_q])``.

    As in FUTR, the decoder input is zeros and the ``num_queries`` learned query
    embeddings act as query positions (DETR); the observed frames get sinusoidal
    positions on their keys. Logit index ``num_classes`` is the end class.
    Durations go through a sigmoid: each is the fraction of the future window its
    segment covers, in (0, 1). FUTR regresses an unbounded value and normalises it
    at decoding; a sigmoid keeps every output a valid fraction during training too,
    and decoding may still renormalise the durations before the end query.

    The layers are DETR's (:class:`~mmfuse.models.attention.DecoderBlock`: positions on queries
    and keys, never values; padded frames masked out of the keys; ``dropout`` on the attention
    weights, after each attention, inside and after the MLP), initialised as
    ``nn.MultiheadAttention`` initialises its projections. The official R3D code's choices, as
    options: ``norm="post"`` (post-norm layers) and ``positions="learned"`` (a learned,
    Xavier-initialised table of ``max_positions`` rows on the observed frames' keys; frames past it
    share its last row).
    """

    def __init__(self, dim: int, num_classes: int, num_queries: int = 8, layers: int = 2, heads: int = 4,
                 dropout: float = 0.1, norm: str = "pre", positions: str = "sinusoidal",
                 max_positions: int = 2000) -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ConfigError(f"task.decoder_norm must be pre or post, got {norm!r}")
        if positions not in KINDS:
            raise ConfigError(f"task.decoder_positions must be sinusoidal or learned, got {positions!r}")
        self.num_classes = num_classes
        self.num_queries = num_queries
        self.query_embed = nn.Embedding(num_queries, dim)
        self.layers = nn.ModuleList(
            DecoderBlock(
                dim, heads, qkv_bias=True, dropout=dropout, attn_dropout=dropout, mlp_dropout=dropout, norm=norm,
                attention_init="multihead",
            )
            for _ in range(layers)
        )
        self.positions = Positions(dim, positions, max_positions)
        self.norm = nn.LayerNorm(dim)
        self.class_head = nn.Linear(dim, num_classes + 1)
        self.duration_head = nn.Linear(dim, 1)

    def forward(self, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        query_pos = self.query_embed.weight.unsqueeze(0).expand(memory.shape[0], -1, -1)
        memory_pos = self.positions(memory.shape[1], memory)
        # A sample with no valid frame attends to all of them rather than producing NaN.
        memory_attend = dense(guard(mask)[:, None, None, :])
        tgt = query_pos.new_zeros(query_pos.shape)
        for layer in self.layers:
            tgt = layer(tgt, memory, dense(), memory_attend, pos=query_pos, memory_pos=memory_pos)
        tgt = self.norm(tgt)
        return self.class_head(tgt), self.duration_head(tgt).squeeze(-1).sigmoid()
