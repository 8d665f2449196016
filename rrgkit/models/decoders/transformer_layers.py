# Copyright (c) rrgkit contributors. All rights reserved.
"""Attention and decoder blocks with explicit key/value tensors.

The key/value projections are separate from the attention itself
(:meth:`MultiHeadAttention.project_kv` and :meth:`MultiHeadAttention.attend`)
so that a decoder can cache them: the memory's keys/values once per report,
the words' keys/values one position at a time.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['MultiHeadAttention', 'TransformerDecoderLayer']

KeyValue = Tuple[torch.Tensor, torch.Tensor]


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention with ``num_heads`` heads.

    Args:
        embed_dims (int): Query, key, value and output size.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        dropout (float): Dropout on the attention weights (training only).
            Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}; choose d_model as a '
                             'multiple of num_heads.')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.v_proj = nn.Linear(embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, S, _ = x.shape
        return x.view(B, S, self.num_heads, self.head_dims).transpose(1, 2)

    def project_kv(self, x: torch.Tensor) -> KeyValue:
        """Keys and values of ``x``.

        Args:
            x (Tensor): ``(B, S, embed_dims)``.

        Returns:
            tuple[Tensor, Tensor]: Keys and values, each
            ``(B, num_heads, S, head_dims)``.
        """
        return (self._split_heads(self.k_proj(x)),
                self._split_heads(self.v_proj(x)))

    def attend(self,
               x: torch.Tensor,
               key: torch.Tensor,
               value: torch.Tensor,
               mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Attend from the queries of ``x`` to given keys and values.

        Args:
            x (Tensor): ``(B, T, embed_dims)`` query inputs.
            key (Tensor): ``(B, num_heads, S, head_dims)``.
            value (Tensor): ``(B, num_heads, S, head_dims)``.
            mask (Tensor, optional): Boolean, broadcastable to
                ``(B, num_heads, T, S)``; True where attending is allowed.
                Every query must be allowed at least one key. Defaults to
                None (all allowed).

        Returns:
            Tensor: ``(B, T, embed_dims)``.
        """
        B, T, _ = x.shape
        q = self._split_heads(self.q_proj(x))
        out = F.scaled_dot_product_attention(
            q,
            key,
            value,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(B, T, -1))

    def extra_repr(self) -> str:
        return f'embed_dims={self.embed_dims}, num_heads={self.num_heads}'


class TransformerDecoderLayer(nn.Module):
    """Masked self-attention, attention to the memory, feed-forward.

    With ``norm_first=True`` (pre-LN, GPT-2 style) each sub-layer computes
    ``x + Dropout(f(LayerNorm(x)))``; with ``norm_first=False`` (post-LN, the
    original Transformer) ``LayerNorm(x + Dropout(f(x)))``.

    Args:
        embed_dims (int): Model size.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden size of the feed-forward network (GELU).
        dropout (float): Dropout on attention weights, sub-layer outputs and
            the feed-forward hidden layer. Defaults to 0.1.
        norm_first (bool): Pre-LN if True, post-LN if False.
            Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 dropout: float = 0.1,
                 norm_first: bool = True) -> None:
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(embed_dims, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(embed_dims, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(ffn_dims, embed_dims))
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.norm3 = nn.LayerNorm(embed_dims)
        self.dropout = nn.Dropout(dropout)

    def _in(self, x: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        return norm(x) if self.norm_first else x

    def _out(self, x: torch.Tensor, y: torch.Tensor,
             norm: nn.LayerNorm) -> torch.Tensor:
        x = x + self.dropout(y)
        return x if self.norm_first else norm(x)

    def forward(self,
                x: torch.Tensor,
                memory_kv: KeyValue,
                self_mask: Optional[torch.Tensor],
                past_kv: Optional[KeyValue] = None,
                memory_mask: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, KeyValue]:
        """Run the block on new positions.

        Args:
            x (Tensor): ``(B, T, embed_dims)`` the new positions.
            memory_kv (tuple): The memory's keys and values from
                ``self.cross_attn.project_kv`` (computed once per memory).
            self_mask (Tensor, optional): Boolean self-attention mask over
                the ``past + T`` keys, True where allowed.
            past_kv (tuple, optional): Cached self-attention keys and values
                of earlier positions, ``(B, heads, t, head_dims)`` each.
                Defaults to None.
            memory_mask (Tensor, optional): Boolean mask over the memory,
                broadcastable to ``(B, heads, T, M)``, True where attending
                is allowed (padding of the memory is False). Defaults to
                None (all allowed).

        Returns:
            tuple: The output ``(B, T, embed_dims)`` and the self-attention
            keys/values of all ``t + T`` positions (the new cache).
        """
        h = self._in(x, self.norm1)
        key, value = self.self_attn.project_kv(h)
        if past_kv is not None:
            key = torch.cat([past_kv[0], key], dim=2)
            value = torch.cat([past_kv[1], value], dim=2)
        x = self._out(x, self.self_attn.attend(h, key, value, self_mask),
                      self.norm1)
        h = self._in(x, self.norm2)
        x = self._out(x, self.cross_attn.attend(h, *memory_kv, memory_mask),
                      self.norm2)
        x = self._out(x, self.ffn(self._in(x, self.norm3)), self.norm3)
        return x, (key, value)
