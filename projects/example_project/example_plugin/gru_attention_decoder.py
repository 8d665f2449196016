# Copyright (c) rrgkit contributors. All rights reserved.
"""A GRU report decoder with soft (additive) attention over image tokens.

At step ``t`` the previous hidden state ``h_{t-1}`` scores every visual
token ``v_i`` with ``w^T tanh(W_v v_i + W_h h_{t-1})``; the softmax of the
scores weights the tokens into the context ``z_t``. The GRU reads the word
embedding joined with ``z_t``, and the next-word scores come from
``h_t + W_z z_t``. The first hidden state is ``tanh(W_0 f_g)`` of the
study's global feature, so the sequence starts directly at ``<bos>``.

It implements rrgkit's decoder interface (see
:mod:`rrgkit.models.utils.decoding`): ``forward`` for teacher forcing,
``init_state``/``step`` for greedy and beam-search decoding.
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['GRUAttentionDecoder']

State = Dict[str, torch.Tensor]


@MODELS.register_module()
class GRUAttentionDecoder(nn.Module):
    """A GRU language model attending over ``visual.tokens``.

    Args:
        vocab_size (int): Number of tokens (set by the generator from its
            tokenizer).
        in_channels (int): Feature size of ``visual.tokens`` and
            ``visual.global_feat`` (set by the generator when omitted).
        embed_dims (int): Word embedding size. Defaults to 256.
        hidden_dims (int): GRU hidden size. Defaults to 512.
        attn_dims (int): Attention size. Defaults to 256.
        dropout (float): Dropout on word embeddings and outputs.
            Defaults to 0.3.
        pad_id (int): Padding id (its embedding stays zero). Defaults to 0.
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: int,
                 embed_dims: int = 256,
                 hidden_dims: int = 512,
                 attn_dims: int = 256,
                 dropout: float = 0.3,
                 pad_id: int = 0) -> None:
        super().__init__()
        for key, value in (('vocab_size', vocab_size),
                           ('in_channels', in_channels),
                           ('embed_dims', embed_dims),
                           ('hidden_dims', hidden_dims),
                           ('attn_dims', attn_dims)):
            if int(value) < 1:
                raise ValueError(
                    f'GRUAttentionDecoder: {key} must be positive, got '
                    f'{value}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError('GRUAttentionDecoder: dropout must be in [0, 1),'
                             f' got {dropout}')
        self.vocab_size = int(vocab_size)
        self.in_channels = int(in_channels)
        self.hidden_dims = int(hidden_dims)
        self.word_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=pad_id)
        self.init_h = nn.Linear(in_channels, hidden_dims)
        self.attn_feat = nn.Linear(in_channels, attn_dims)
        self.attn_hidden = nn.Linear(hidden_dims, attn_dims)
        self.attn_score = nn.Linear(attn_dims, 1)
        self.cell = nn.GRUCell(embed_dims + in_channels, hidden_dims)
        self.context_out = nn.Linear(in_channels, hidden_dims)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dims, vocab_size)

    # ------------------------------------------------------------ pieces
    def _check(self, visual: VisualFeatures) -> None:
        tokens = visual.tokens
        if tokens.dim() != 3 or tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'GRUAttentionDecoder: visual.tokens must be (B, N, '
                f'{self.in_channels}), got {tuple(tokens.shape)}; leave '
                'in_channels out of the decoder config so the generator '
                'sets it from the visual features.')

    def attend(self, h: torch.Tensor,
               state: State) -> Tuple[torch.Tensor, torch.Tensor]:
        """Attention weights ``(B, N)`` and context ``(B, D)`` for ``h``."""
        scores = self.attn_score(
            torch.tanh(state['keys'] +
                       self.attn_hidden(h).unsqueeze(1))).squeeze(-1)
        alpha = scores.softmax(-1)
        context = torch.bmm(alpha.unsqueeze(1), state['tokens']).squeeze(1)
        return alpha, context

    def _advance(self, words: torch.Tensor, state: State) -> State:
        """Read the ids ``words`` ``(B,)``; return the next state."""
        alpha, context = self.attend(state['h'], state)
        x = torch.cat([self.dropout(self.word_embed(words)), context], 1)
        new = dict(state)
        new.update(h=self.cell(x, state['h']), alpha=alpha, context=context)
        return new

    def _logits(self, state: State) -> torch.Tensor:
        out = state['h'] + self.context_out(state['context'])
        return self.classifier(self.dropout(out))

    # ------------------------------------------------------------ public
    def init_state(self, visual: VisualFeatures) -> State:
        """The state before ``<bos>``: the first hidden state and the
        projected attention keys (fixed while decoding).

        Args:
            visual (VisualFeatures): Features, one row per sequence.

        Returns:
            dict: ``h`` ``(B, hidden_dims)``, ``tokens`` ``(B, N, D)`` and
            ``keys`` ``(B, N, attn_dims)``; every tensor is batch first, so
            beam search can reorder rows.
        """
        self._check(visual)
        return dict(
            h=torch.tanh(self.init_h(visual.global_feat)),
            tokens=visual.tokens,
            keys=self.attn_feat(visual.tokens))

    def forward_with_attention(
            self, visual: VisualFeatures,
            input_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced scores and the attention used for each word.

        Args:
            visual (VisualFeatures): Study features.
            input_ids (Tensor): ``(B, T)`` ids, starting with ``<bos>``.

        Returns:
            tuple: ``(B, T, vocab_size)`` scores (position ``t`` scores the
            token after ``input_ids[:, t]``) and ``(B, T, N)`` attention
            weights.
        """
        state = self.init_state(visual)
        logits, alphas = [], []
        for t in range(input_ids.shape[1]):
            state = self._advance(input_ids[:, t], state)
            logits.append(self._logits(state))
            alphas.append(state['alpha'])
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    def forward(self, visual: VisualFeatures,
                input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token scores ``(B, T, vocab_size)``."""
        return self.forward_with_attention(visual, input_ids)[0]

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word.

        Args:
            tokens (Tensor): ``(B,)`` previous word ids.
            state (dict): From :meth:`init_state` or the previous step.

        Returns:
            tuple: ``(B, vocab_size)`` log-probabilities and the new state
            (with the step's attention ``alpha`` ``(B, N)``).
        """
        state = self._advance(tokens, state)
        return self._logits(state).log_softmax(-1), state

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, in_channels='
                f'{self.in_channels}, hidden_dims={self.hidden_dims}')
