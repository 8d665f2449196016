# Copyright (c) rrgkit contributors. All rights reserved.
"""R2Gen's memory-driven Transformer decoder (Chen et al., EMNLP 2020)."""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from .relational_memory import ConditionalLayerNorm, RelationalMemory
from .transformer_layers import KeyValue, MultiHeadAttention

__all__ = ['R2GenDecoder', 'R2GenDecoderLayer', 'sinusoidal_positions']

State = Dict[str, torch.Tensor]


def sinusoidal_positions(positions: torch.Tensor,
                         dims: int) -> torch.Tensor:
    """The Transformer's sine/cosine position encoding.

    Args:
        positions (Tensor): Integer positions of any shape ``S``.
        dims (int): Encoding size (even).

    Returns:
        Tensor: ``S + (dims,)``; channel ``2i`` is ``sin(p / 10000^(2i/d))``
        and channel ``2i + 1`` the cosine of the same angle.
    """
    freqs = torch.exp(
        torch.arange(0, dims, 2, device=positions.device, dtype=torch.float)
        * (-math.log(10000.0) / dims))
    angles = positions.float().unsqueeze(-1) * freqs
    return torch.stack([angles.sin(), angles.cos()], -1).flatten(-2)


class R2GenDecoderLayer(nn.Module):
    """A pre-LN Transformer decoder block whose norms are MCLNs.

    Each sub-layer (masked self-attention, attention to the visual memory,
    ReLU feed-forward) computes ``x + Dropout(f(MCLN(x, m_t)))``, where
    ``m_t`` is the flattened relational memory at position ``t``.

    Args:
        embed_dims (int): Model size.
        num_heads (int): Attention heads.
        ffn_dims (int): Feed-forward hidden size.
        cond_dims (int): Size of the flattened memory.
        dropout (float): Dropout on attention weights, sub-layer outputs and
            the feed-forward hidden layer. Defaults to 0.1.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 ffn_dims: int,
                 cond_dims: int,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(embed_dims, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(embed_dims, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dims, embed_dims))
        self.norm1 = ConditionalLayerNorm(embed_dims, cond_dims)
        self.norm2 = ConditionalLayerNorm(embed_dims, cond_dims)
        self.norm3 = ConditionalLayerNorm(embed_dims, cond_dims)
        self.dropout = nn.Dropout(dropout)

    def forward(self,
                x: torch.Tensor,
                cond: torch.Tensor,
                memory_kv: KeyValue,
                self_mask: Optional[torch.Tensor],
                past_kv: Optional[KeyValue] = None
                ) -> Tuple[torch.Tensor, KeyValue]:
        """Run the block on new positions.

        Args:
            x (Tensor): ``(B, T, embed_dims)`` the new positions.
            cond (Tensor): ``(B, T, cond_dims)`` their flattened memories.
            memory_kv (tuple): The visual memory's keys and values from
                ``self.cross_attn.project_kv``.
            self_mask (Tensor, optional): Boolean self-attention mask over
                the ``past + T`` keys, True where allowed.
            past_kv (tuple, optional): Cached self-attention keys and values
                of earlier positions. Defaults to None.

        Returns:
            tuple: The output ``(B, T, embed_dims)`` and the self-attention
            keys/values of all ``past + T`` positions (the new cache).
        """
        h = self.norm1(x, cond)
        key, value = self.self_attn.project_kv(h)
        if past_kv is not None:
            key = torch.cat([past_kv[0], key], dim=2)
            value = torch.cat([past_kv[1], value], dim=2)
        x = x + self.dropout(self.self_attn.attend(h, key, value, self_mask))
        h = self.norm2(x, cond)
        x = x + self.dropout(self.cross_attn.attend(h, *memory_kv))
        x = x + self.dropout(self.ffn(self.norm3(x, cond)))
        return x, (key, value)


@MODELS.register_module()
class R2GenDecoder(nn.Module):
    """Memory-driven Transformer decoder of R2Gen.

    Words are embedded (scaled by ``sqrt(d_model)``) plus a sinusoidal
    position encoding. A :class:`RelationalMemory` reads the embedded words
    one by one; its state ``M_t`` after word ``t`` conditions every layer
    norm (:class:`ConditionalLayerNorm`) at position ``t`` in
    ``num_layers`` :class:`R2GenDecoderLayer` blocks and the final norm.
    The blocks attend to ``visual.tokens`` (``(B, N, in_channels)``, e.g.
    the :class:`TransformerVisualEncoder` output; linearly projected when
    ``in_channels != d_model``); a linear layer gives the word scores.

    Teacher forcing runs the memory recurrently over the words and the
    Transformer blocks in parallel with a causal mask (padding keys are not
    attended to). Decoding is incremental: :meth:`init_state` projects the
    visual memory's keys/values once, :meth:`step` advances the relational
    memory by one word and appends one position to the self-attention
    cache.

    Weights start Xavier-uniform (matrices); the MCLN MLP biases start at
    0.1 and the ``<pad>`` embedding at zero.

    Args:
        vocab_size (int): Number of tokens (set by the generator).
        in_channels (int, optional): Size of the visual tokens (set by the
            generator). Defaults to None (``d_model``).
        d_model (int): Model size, also the memory slot size. Defaults to
            512.
        num_heads (int): Attention heads. Defaults to 8.
        num_layers (int): Decoder blocks. Defaults to 3.
        ffn_dims (int): Feed-forward hidden size. Defaults to 512.
        dropout (float): Dropout on embeddings, attention weights and
            sub-layer outputs. Defaults to 0.1.
        num_slots (int): Relational memory slots. Defaults to 3.
        rm_num_heads (int): Heads of the relational memory's attention.
            Defaults to 8.
        pad_id (int): Padding id. Defaults to 0.
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: Optional[int] = None,
                 d_model: int = 512,
                 num_heads: int = 8,
                 num_layers: int = 3,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 num_slots: int = 3,
                 rm_num_heads: int = 8,
                 pad_id: int = 0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(
                f'R2GenDecoder: num_layers must be >= 1, got {num_layers}')
        if d_model % 2 != 0:
            raise ValueError(f'R2GenDecoder: d_model={d_model} must be even '
                             '(sinusoidal position encoding).')
        for name, heads in (('num_heads', num_heads),
                            ('rm_num_heads', rm_num_heads)):
            if d_model % heads != 0:
                raise ValueError(
                    f'R2GenDecoder: d_model={d_model} is not divisible by '
                    f'{name}={heads}; choose d_model as a multiple of both '
                    'num_heads and rm_num_heads.')
        self.vocab_size, self.d_model = vocab_size, d_model
        self.in_channels = d_model if in_channels is None else in_channels
        self.num_heads, self.num_layers = num_heads, num_layers
        self.head_dims = d_model // num_heads
        self.num_slots, self.pad_id = num_slots, pad_id

        self.word_embed = nn.Embedding(vocab_size, d_model,
                                       padding_idx=pad_id)
        self.visual_proj = (nn.Linear(self.in_channels, d_model)
                            if self.in_channels != d_model else nn.Identity())
        self.dropout = nn.Dropout(dropout)
        self.memory = RelationalMemory(d_model, num_slots, rm_num_heads,
                                       dropout)
        cond_dims = num_slots * d_model
        self.layers = nn.ModuleList(
            R2GenDecoderLayer(d_model, num_heads, ffn_dims, cond_dims,
                              dropout) for _ in range(num_layers))
        self.final_norm = ConditionalLayerNorm(d_model, cond_dims)
        self.classifier = nn.Linear(d_model, vocab_size)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        self.word_embed.weight[self.pad_id].zero_()

    # ------------------------------------------------------------ helpers
    def _visual_kv(self, visual: VisualFeatures) -> list:
        tokens = visual.tokens
        if tokens is None or tokens.dim() != 3:
            shape = None if tokens is None else tuple(tokens.shape)
            raise ValueError(f'R2GenDecoder attends to visual.tokens, which '
                             f'must be (B, N, C); got {shape}')
        if tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'R2GenDecoder: visual.tokens have {tokens.shape[-1]} '
                f'channels but in_channels={self.in_channels}; set '
                'model.decoder.in_channels to the encoder output size (or '
                'leave it unset).')
        memory = self.visual_proj(tokens)
        return [layer.cross_attn.project_kv(memory) for layer in self.layers]

    def _embed(self, ids: torch.Tensor,
               positions: torch.Tensor) -> torch.Tensor:
        words = self.word_embed(ids) * math.sqrt(self.d_model)
        pos = sinusoidal_positions(positions, self.d_model).to(words.dtype)
        return self.dropout(words + pos)

    def _logits(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.final_norm(x, cond))

    # ------------------------------------------------------------ forward
    def forward(self, visual: VisualFeatures,
                input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token scores.

        Args:
            visual (VisualFeatures): Features whose ``tokens`` the blocks
                attend to.
            input_ids (Tensor): ``(B, T)`` ids, starting with ``<bos>``.

        Returns:
            Tensor: ``(B, T, vocab_size)``; position ``t`` scores the token
            after ``input_ids[:, t]``.
        """
        B, T = input_ids.shape
        visual_kv = self._visual_kv(visual)
        device = input_ids.device
        x = self._embed(input_ids, torch.arange(T, device=device))
        cond = self.memory(x).flatten(2)  # (B, T, num_slots * d_model)
        causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
        eye = torch.eye(T, dtype=torch.bool, device=device)
        keep = (input_ids != self.pad_id)[:, None, :] | eye
        mask = (causal & keep).unsqueeze(1)  # (B, 1, T, T)
        for layer, kv in zip(self.layers, visual_kv):
            x, _ = layer(x, cond, kv, mask)
        return self._logits(x, cond)

    # ----------------------------------------------------------- decoding
    def init_state(self, visual: VisualFeatures) -> State:
        """The state before ``<bos>``.

        Returns:
            dict: Batch-first tensors: ``rm`` ``(B, num_slots, d_model)``
            the relational memory, ``pos`` ``(B,)`` the next position,
            ``pad`` ``(B, 0)`` which cached words are padding, and per
            layer ``l``: ``cross_k.l``/``cross_v.l`` ``(B, heads, N,
            head_dims)`` the visual tokens' keys/values and
            ``self_k.l``/``self_v.l`` ``(B, heads, 0, head_dims)`` the empty
            self-attention cache.
        """
        visual_kv = self._visual_kv(visual)
        key = visual_kv[0][0]
        B, device = key.shape[0], key.device
        state = dict(
            rm=self.memory.initial_state(B).to(key.dtype),
            pos=torch.zeros(B, dtype=torch.long, device=device),
            pad=torch.zeros(B, 0, dtype=torch.bool, device=device))
        empty = key.new_zeros(B, self.num_heads, 0, self.head_dims)
        for i, (k, v) in enumerate(visual_kv):
            state[f'cross_k.{i}'], state[f'cross_v.{i}'] = k, v
            state[f'self_k.{i}'], state[f'self_v.{i}'] = empty, empty
        return state

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word using the caches.

        Args:
            tokens (Tensor): ``(B,)`` previous word ids.
            state (dict): From :meth:`init_state` or the previous step.

        Returns:
            tuple: ``(B, vocab_size)`` log-probabilities of the next word
            and the new state (memory updated, caches one position longer).
        """
        x = self._embed(tokens[:, None], state['pos'][:, None])
        rm = self.memory.step(state['rm'], x[:, 0])
        cond = rm.flatten(1).unsqueeze(1)  # (B, 1, num_slots * d_model)
        pad = torch.cat([state['pad'], (tokens == self.pad_id)[:, None]], 1)
        keep = ~pad
        keep[:, -1] = True  # a word always sees itself, as in forward
        mask = keep[:, None, None, :]  # (B, 1, 1, past + 1)
        new_state = dict(rm=rm, pos=state['pos'] + 1, pad=pad)
        for i, layer in enumerate(self.layers):
            cross = (state[f'cross_k.{i}'], state[f'cross_v.{i}'])
            past_kv = (state[f'self_k.{i}'], state[f'self_v.{i}'])
            x, (k, v) = layer(x, cond, cross, mask, past_kv)
            new_state[f'cross_k.{i}'], new_state[f'cross_v.{i}'] = cross
            new_state[f'self_k.{i}'], new_state[f'self_v.{i}'] = k, v
        return self._logits(x, cond)[:, 0].log_softmax(-1), new_state

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, d_model={self.d_model}, '
                f'layers={self.num_layers}, heads={self.num_heads}, '
                f'num_slots={self.num_slots}')
