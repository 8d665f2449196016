# Copyright (c) rrgkit contributors. All rights reserved.
"""GPT-style Transformer report decoder with a key/value cache (ASGK)."""
import os
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from rrgkit.models.utils.glove import load_word_vectors
from rrgkit.models.utils.visual_features import VisualFeatures, token_mask
from rrgkit.registry import MODELS
from .transformer_layers import TransformerDecoderLayer

__all__ = ['GPTDecoder']

State = Dict[str, torch.Tensor]
WordVectors = Union[str, os.PathLike, np.ndarray, torch.Tensor]

INIT_STD = 0.02


@MODELS.register_module()
class GPTDecoder(nn.Module):
    """Transformer decoder attending to a memory of visual/knowledge tokens.

    The natural-language decoder of ASGK (Li et al., eq. 6-8): ``num_layers``
    blocks of masked multi-head self-attention over the words, multi-head
    attention to the memory ``visual.tokens`` (``(B, M, in_channels)``,
    e.g. the tag graph's nodes, projected to ``d_model`` and layer-normed;
    memory tokens that ``visual.extras['token_mask']`` marks False are
    skipped) and a position-wise feed-forward network. Words get learned
    position embeddings and the output projection shares its weight with the
    word embedding (weight tying, no output bias).

    Normalisation: ``norm_first=True`` (default) is pre-LN as in GPT-2, with
    a final LayerNorm before the output; ``norm_first=False`` is the
    original Transformer's post-LN (no final LayerNorm). Weights start
    GPT-2 style: normal with std 0.02, residual output projections scaled
    by ``1 / sqrt(2 * num_layers)``.

    Decoding is incremental: :meth:`init_state` projects the memory and its
    cross-attention keys/values once, :meth:`step` computes only the new
    position and appends its self-attention keys/values to the cache.

    Args:
        vocab_size (int): Number of tokens (set by the generator).
        in_channels (int, optional): Size of the memory tokens (set by the
            generator). A linear layer maps it to ``d_model`` when it
            differs. Defaults to None (``d_model``).
        d_model (int): Model size. Defaults to 512.
        num_heads (int): Attention heads. Defaults to 8.
        num_layers (int): Decoder blocks ``N``. Defaults to 3.
        ffn_dims (int): Feed-forward hidden size. Defaults to 2048.
        dropout (float): Dropout on embeddings, attention weights and
            sub-layer outputs. Defaults to 0.1.
        max_len (int): Number of learned positions: the longest input,
            ``<bos>`` included. Defaults to 128.
        pad_id (int): Padding id; padded words are not attended to and
            their embedding starts at zero. Defaults to 0.
        norm_first (bool): Pre-LN (True) or post-LN (False).
            Defaults to True.
        word_vectors (str | PathLike | ndarray | Tensor, optional): A
            ``(vocab_size, d)`` matrix, or a ``.npy``/``.pt`` file of one
            (e.g. from ``tools/train_glove.py``), to initialise the word
            embedding. It is rescaled to a global std of 0.02 (directions and
            cosine similarities are kept) and the ``<pad>`` row is zeroed.
            When ``d != d_model`` the embedding stays ``d``-dimensional and
            linear maps ``d -> d_model`` (input) and ``d_model -> d``
            (before the tied output) are added. Defaults to None (random).
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: Optional[int] = None,
                 d_model: int = 512,
                 num_heads: int = 8,
                 num_layers: int = 3,
                 ffn_dims: int = 2048,
                 dropout: float = 0.1,
                 max_len: int = 128,
                 pad_id: int = 0,
                 norm_first: bool = True,
                 word_vectors: Optional[WordVectors] = None) -> None:
        super().__init__()
        if num_layers < 1 or max_len < 1:
            raise ValueError(f'GPTDecoder: num_layers ({num_layers}) and '
                             f'max_len ({max_len}) must be >= 1')
        vectors = None
        if word_vectors is not None:
            vectors = load_word_vectors(word_vectors, vocab_size)
        embed_dims = d_model if vectors is None else vectors.shape[1]
        self.vocab_size, self.d_model = vocab_size, d_model
        self.in_channels = d_model if in_channels is None else in_channels
        self.num_heads, self.num_layers = num_heads, num_layers
        self.head_dims = d_model // num_heads
        self.max_len, self.pad_id = max_len, pad_id
        self.norm_first = norm_first

        self.word_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=pad_id)
        self.pos_embed = nn.Embedding(max_len, d_model)
        factorised = embed_dims != d_model
        self.embed_proj = (nn.Linear(embed_dims, d_model, bias=False)
                           if factorised else nn.Identity())
        self.unembed_proj = (nn.Linear(d_model, embed_dims, bias=False)
                             if factorised else nn.Identity())
        self.memory_proj = (nn.Linear(self.in_channels, d_model)
                            if self.in_channels != d_model else nn.Identity())
        self.memory_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            TransformerDecoderLayer(d_model, num_heads, ffn_dims, dropout,
                                    norm_first) for _ in range(num_layers))
        self.final_norm = (nn.LayerNorm(d_model)
                           if norm_first else nn.Identity())
        self.classifier = nn.Linear(embed_dims, vocab_size, bias=False)
        self.classifier.weight = self.word_embed.weight  # tied
        self._init_weights(vectors)

    # ------------------------------------------------------------ weights
    @torch.no_grad()
    def _init_weights(self, vectors: Optional[torch.Tensor]) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, INIT_STD)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        residual_std = INIT_STD / (2 * self.num_layers)**0.5
        for layer in self.layers:
            for proj in (layer.self_attn.out_proj, layer.cross_attn.out_proj,
                         layer.ffn[-1]):
                nn.init.normal_(proj.weight, 0.0, residual_std)
        if vectors is not None:
            vectors = vectors - vectors.mean()
            std = vectors.std()
            if std > 0:
                vectors = vectors * (INIT_STD / std)
            self.word_embed.weight.copy_(vectors)
        self.word_embed.weight[self.pad_id].zero_()

    # ------------------------------------------------------------ helpers
    def _memory(self, visual: VisualFeatures) -> torch.Tensor:
        tokens = visual.tokens
        if tokens is None or tokens.dim() != 3:
            shape = None if tokens is None else tuple(tokens.shape)
            raise ValueError(f'GPTDecoder attends to visual.tokens, which '
                             f'must be (B, M, C); got {shape}')
        if tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'GPTDecoder: visual.tokens have {tokens.shape[-1]} channels '
                f'but in_channels={self.in_channels}; set model.decoder.'
                'in_channels to the encoder output size (or leave it unset).')
        return self.memory_norm(self.memory_proj(tokens))

    def _embed(self, ids: torch.Tensor,
               positions: torch.Tensor) -> torch.Tensor:
        words = self.embed_proj(self.word_embed(ids))
        return self.dropout(words + self.pos_embed(positions))

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.unembed_proj(self.final_norm(x)))

    def _memory_kv(self, memory: torch.Tensor) -> list:
        return [layer.cross_attn.project_kv(memory) for layer in self.layers]

    # ------------------------------------------------------------ forward
    def forward(self, visual: VisualFeatures,
                input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token scores.

        Position ``t`` attends to the words ``<= t`` that are not padding
        (and always to itself) and to every memory token.

        Args:
            visual (VisualFeatures): Features whose ``tokens`` are the
                memory.
            input_ids (Tensor): ``(B, T)`` ids, starting with ``<bos>``.

        Returns:
            Tensor: ``(B, T, vocab_size)``; position ``t`` scores the token
            after ``input_ids[:, t]``.
        """
        B, T = input_ids.shape
        if T > self.max_len:
            raise ValueError(
                f'GPTDecoder got {T} tokens but has max_len={self.max_len} '
                'positions; raise model.decoder.max_len to at least the '
                "generator's max_len.")
        memory_kv = self._memory_kv(self._memory(visual))
        memory_mask = token_mask(visual)
        if memory_mask is not None:
            memory_mask = memory_mask[:, None, None, :]  # (B, 1, 1, M)
        device = input_ids.device
        positions = torch.arange(T, device=device)
        x = self._embed(input_ids, positions)
        causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
        eye = torch.eye(T, dtype=torch.bool, device=device)
        keep = (input_ids != self.pad_id)[:, None, :] | eye
        mask = (causal & keep).unsqueeze(1)  # (B, 1, T, T)
        for layer, kv in zip(self.layers, memory_kv):
            x, _ = layer(x, kv, mask, memory_mask=memory_mask)
        return self._logits(x)

    # ----------------------------------------------------------- decoding
    def init_state(self, visual: VisualFeatures) -> State:
        """The state before ``<bos>``.

        Returns:
            dict: Batch-first tensors: ``memory`` ``(B, M, d_model)``,
            ``pos`` ``(B,)`` the next position, ``pad`` ``(B, 0)`` which
            cached words are padding, and per layer ``l``:
            ``cross_k.l``/``cross_v.l`` ``(B, heads, M, head_dims)`` the
            memory's keys/values and ``self_k.l``/``self_v.l``
            ``(B, heads, 0, head_dims)`` the empty self-attention cache;
            ``memory_mask`` ``(B, M)`` when the memory has a token mask.
        """
        memory = self._memory(visual)
        B = memory.shape[0]
        state = dict(
            memory=memory,
            pos=torch.zeros(B, dtype=torch.long, device=memory.device),
            pad=torch.zeros(B, 0, dtype=torch.bool, device=memory.device))
        if token_mask(visual) is not None:
            state['memory_mask'] = token_mask(visual)
        empty = memory.new_zeros(B, self.num_heads, 0, self.head_dims)
        for i, (k, v) in enumerate(self._memory_kv(memory)):
            state[f'cross_k.{i}'], state[f'cross_v.{i}'] = k, v
            state[f'self_k.{i}'], state[f'self_v.{i}'] = empty, empty
        return state

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word using the key/value cache.

        Args:
            tokens (Tensor): ``(B,)`` previous word ids.
            state (dict): From :meth:`init_state` or the previous step.

        Returns:
            tuple: ``(B, vocab_size)`` log-probabilities of the next word
            and the new state (caches one position longer).
        """
        past = state['self_k.0'].shape[2]
        if past >= self.max_len:
            raise RuntimeError(
                f'GPTDecoder: cannot decode position {past + 1}, it has '
                f'max_len={self.max_len} positions; raise model.decoder.'
                "max_len to at least the generator's max_len.")
        x = self._embed(tokens[:, None], state['pos'][:, None])
        pad = torch.cat([state['pad'], (tokens == self.pad_id)[:, None]], 1)
        keep = ~pad
        keep[:, -1] = True  # a word always sees itself, as in forward
        mask = keep[:, None, None, :]  # (B, 1, 1, past + 1)
        new_state = dict(memory=state['memory'], pos=state['pos'] + 1,
                         pad=pad)
        memory_mask = state.get('memory_mask')
        if memory_mask is not None:
            new_state['memory_mask'] = memory_mask
            memory_mask = memory_mask[:, None, None, :]
        for i, layer in enumerate(self.layers):
            cross = (state[f'cross_k.{i}'], state[f'cross_v.{i}'])
            past_kv = (state[f'self_k.{i}'], state[f'self_v.{i}'])
            x, (k, v) = layer(x, cross, mask, past_kv, memory_mask)
            new_state[f'cross_k.{i}'], new_state[f'cross_v.{i}'] = cross
            new_state[f'self_k.{i}'], new_state[f'self_v.{i}'] = k, v
        return self._logits(x[:, 0]).log_softmax(-1), new_state

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, d_model={self.d_model}, '
                f'layers={self.num_layers}, heads={self.num_heads}, '
                f'norm_first={self.norm_first}')
