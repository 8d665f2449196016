# Copyright (c) rrgkit contributors. All rights reserved.
"""A standard Transformer encoder over the visual tokens (R2Gen)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from rrgkit.models.decoders.transformer_layers import MultiHeadAttention
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['TransformerVisualEncoder']


class _EncoderLayer(nn.Module):
    """Pre-LN block: ``x + Attn(LN(x))`` then ``x + FFN(LN(x))`` (ReLU)."""

    def __init__(self, d_model: int, num_heads: int, ffn_dims: int,
                 dropout: float) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(d_model, ffn_dims), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dims, d_model))
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.dropout(self.attn.attend(h, *self.attn.project_kv(h)))
        return x + self.dropout(self.ffn(self.norm2(x)))


@MODELS.register_module()
class TransformerVisualEncoder(nn.Module):
    """Encode the visual tokens with a Transformer encoder.

    R2Gen's encoder (Chen et al., EMNLP 2020): the patch features of the
    CNN (``visual.tokens``, ``(B, N, in_channels)``, all views' positions)
    are projected to ``d_model`` (linear, ReLU, dropout) and encoded by
    ``num_layers`` pre-LN blocks of multi-head self-attention and a ReLU
    feed-forward network, followed by a final LayerNorm. As in R2Gen the
    tokens get no position encoding, so the encoder is permutation
    equivariant over the tokens.

    The output replaces ``visual.tokens`` with the encoded ``(B, N,
    d_model)`` tokens and ``visual.global_feat`` with their mean, so every
    feature downstream has ``out_channels = d_model`` channels;
    ``feat_map`` and ``extras`` are kept.

    Args:
        in_channels (int): Channels of ``visual.tokens`` (filled in by the
            generator from the backbone when omitted).
        d_model (int): Model size. Defaults to 512.
        num_heads (int): Attention heads; must divide ``d_model``.
            Defaults to 8.
        num_layers (int): Encoder blocks (0: only the projection and the
            final norm). Defaults to 3.
        ffn_dims (int): Feed-forward hidden size. Defaults to 512 (R2Gen's
            ``d_ff``).
        dropout (float): Dropout after the projection, on attention weights
            and sub-layer outputs. Defaults to 0.1.
    """

    def __init__(self,
                 in_channels: int,
                 d_model: int = 512,
                 num_heads: int = 8,
                 num_layers: int = 3,
                 ffn_dims: int = 512,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if in_channels is None or in_channels < 1 or d_model < 1:
            raise ValueError(
                f'TransformerVisualEncoder: in_channels ({in_channels}) and '
                f'd_model ({d_model}) must be positive integers; leave '
                'model.encoder.in_channels unset to take it from the '
                'backbone.')
        if num_layers < 0:
            raise ValueError('TransformerVisualEncoder: num_layers must be '
                             f'>= 0, got {num_layers}')
        if d_model % num_heads != 0:
            raise ValueError(
                f'TransformerVisualEncoder: d_model={d_model} is not '
                f'divisible by num_heads={num_heads}.')
        self.in_channels = in_channels
        self.out_channels = d_model
        self.num_layers = num_layers
        self.input_proj = nn.Sequential(
            nn.Linear(in_channels, d_model), nn.ReLU(inplace=True),
            nn.Dropout(dropout))
        self.layers = nn.ModuleList(
            _EncoderLayer(d_model, num_heads, ffn_dims, dropout)
            for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Encode ``(B, N, in_channels)`` tokens to ``(B, N, d_model)``."""
        if tokens is None or tokens.dim() != 3:
            shape = None if tokens is None else tuple(tokens.shape)
            raise ValueError('TransformerVisualEncoder encodes visual.tokens,'
                             f' which must be (B, N, C); got {shape}')
        if tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'TransformerVisualEncoder: visual.tokens have '
                f'{tokens.shape[-1]} channels but in_channels='
                f'{self.in_channels}; set model.encoder.in_channels to the '
                'backbone output size (or leave it unset).')
        x = self.input_proj(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)

    def forward(
        self,
        visual: VisualFeatures,
        data_samples: Optional[List] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Encode the tokens.

        Args:
            visual (VisualFeatures): Features whose ``tokens`` are encoded.
            data_samples (list, optional): Unused (no auxiliary loss).

        Returns:
            tuple: The features with encoded ``tokens`` and their mean as
            ``global_feat``, and an empty loss dict.
        """
        tokens = self.encode(visual.tokens)
        return visual.replace(tokens=tokens, global_feat=tokens.mean(1)), {}

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, d_model={self.out_channels}'
                f', layers={self.num_layers}')
