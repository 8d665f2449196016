# Copyright (c) rrgkit contributors. All rights reserved.
"""Adaptive attention with a visual sentinel (AdaAtt).

Lu et al., "Knowing When to Look: Adaptive Attention via a Visual Sentinel
for Image Captioning", CVPR 2017. At every step the LSTM decides how much
to look at the image and how much to rely on its own language memory:

* image features: ``v_i = ReLU(W_a a_i)`` for the ``k`` spatial tokens
  and ``v_g = ReLU(W_b a_g)`` for the global vector; the LSTM input is
  ``x_t = [w_t; v_g]`` (word embedding and image vector, every step);
* the LSTM runs first: ``h_t, m_t = LSTM(x_t, h_{t-1}, m_{t-1})``;
* visual sentinel: ``g_t = sigmoid(W_x x_t + W_h h_{t-1})``,
  ``s_t = g_t * tanh(m_t)``;
* spatial scores ``z_ti = w_h^T tanh(W_v v_i + W_g h_t)`` and the sentinel
  score ``w_h^T tanh(W_s s_t + W_g h_t)`` share one softmax over ``k + 1``
  entries; the sentinel's weight is ``beta_t``;
* adaptive context ``c_hat_t = beta_t s_t + (1 - beta_t) c_t`` with
  ``c_t = sum_i alpha_ti v_i`` (``alpha`` the softmax over the ``k``
  spatial scores alone), which equals ``sum_i a_hat_ti v_i + beta_t s_t``;
* output ``p_t = softmax(W_p (c_hat_t + h_t))``.

The state starts at zero and decoding starts from ``<bos>``: the image
enters through ``v_g`` in every input and through the attention.
"""
from typing import Dict, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['AdaptiveAttentionDecoder']

State = Dict[str, torch.Tensor]


def _check_positive(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f'AdaptiveAttentionDecoder: {name} must be a '
                         f'positive int, got {value!r}')


@MODELS.register_module()
class AdaptiveAttentionDecoder(nn.Module):
    """An LSTM that attends over ``visual.tokens`` plus a visual sentinel.

    Args:
        vocab_size (int): Number of tokens (set by the generator).
        in_channels (int): Feature size of ``visual.tokens`` and
            ``visual.global_feat`` (set by the generator when omitted).
        embed_dims (int): Word and global image embedding size; the LSTM
            input is twice as wide. Defaults to 256.
        hidden_dims (int): LSTM hidden size ``d``; the spatial features and
            the sentinel are projected to it too. Defaults to 512.
        attn_dims (int): Attention size (rows of ``W_v``, ``W_g``,
            ``W_s``). Defaults to 256.
        dropout (float): Dropout on the LSTM input and on
            ``c_hat_t + h_t``. Defaults to 0.3.
        pad_id (int): Padding id. Defaults to 0.
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
        for name, value in (('vocab_size', vocab_size),
                            ('in_channels', in_channels),
                            ('embed_dims', embed_dims),
                            ('hidden_dims', hidden_dims),
                            ('attn_dims', attn_dims)):
            _check_positive(name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError('AdaptiveAttentionDecoder: dropout must be in '
                             f'[0, 1), got {dropout!r}')
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f'AdaptiveAttentionDecoder: pad_id={pad_id} is '
                             f'outside the vocabulary 0..{vocab_size - 1}')
        self.vocab_size = vocab_size
        self.in_channels = in_channels
        self.hidden_dims = hidden_dims
        self.word_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=pad_id)
        self.global_embed = nn.Sequential(  # v_g = ReLU(W_b a_g)
            nn.Linear(in_channels, embed_dims), nn.ReLU(inplace=True))
        self.token_embed = nn.Sequential(  # v_i = ReLU(W_a a_i)
            nn.Linear(in_channels, hidden_dims), nn.ReLU(inplace=True))
        self.cell = nn.LSTMCell(2 * embed_dims, hidden_dims)
        # Sentinel gate g_t = sigmoid(W_x x_t + W_h h_{t-1}).
        self.gate_input = nn.Linear(2 * embed_dims, hidden_dims)
        self.gate_hidden = nn.Linear(hidden_dims, hidden_dims, bias=False)
        # Attention: W_v (spatial), W_s (sentinel), W_g (hidden), w_h.
        self.attn_feat = nn.Linear(hidden_dims, attn_dims)
        self.attn_sentinel = nn.Linear(hidden_dims, attn_dims)
        self.attn_hidden = nn.Linear(hidden_dims, attn_dims)
        self.attn_score = nn.Linear(attn_dims, 1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dims, vocab_size)  # W_p

    # ------------------------------------------------------------ internals
    def _check_visual(self, visual: VisualFeatures) -> None:
        tokens = visual.tokens
        if tokens is None or tokens.dim() != 3 or tokens.shape[1] == 0:
            shape = None if tokens is None else tuple(tokens.shape)
            raise ValueError(
                'AdaptiveAttentionDecoder needs visual.tokens of shape '
                f'(B, N, C) with N >= 1 spatial positions, got {shape}')
        for name, feat in (('tokens', tokens),
                           ('global_feat', visual.global_feat)):
            if feat.shape[-1] != self.in_channels:
                raise ValueError(
                    f'AdaptiveAttentionDecoder: in_channels='
                    f'{self.in_channels} but visual.{name} has '
                    f'{feat.shape[-1]} channels; leave in_channels out of '
                    'the decoder config so the generator sets it.')

    def attend(self, h: torch.Tensor, sentinel: torch.Tensor,
               state: State) -> Tuple[torch.Tensor, torch.Tensor]:
        """Adaptive attention for the current hidden state.

        Args:
            h (Tensor): ``(B, d)`` hidden state ``h_t``.
            sentinel (Tensor): ``(B, d)`` visual sentinel ``s_t``.
            state (dict): Holds ``feats`` ``(B, N, d)`` and their
                projections ``keys`` ``(B, N, attn_dims)``.

        Returns:
            tuple: Weights ``(B, N + 1)`` (the last one is ``beta_t``, the
            sentinel's) and the adaptive context ``c_hat_t`` ``(B, d)``.
        """
        query = self.attn_hidden(h).unsqueeze(1)
        spatial = self.attn_score(torch.tanh(state['keys'] + query))
        own = self.attn_score(
            torch.tanh(self.attn_sentinel(sentinel).unsqueeze(1) + query))
        weights = torch.cat([spatial, own], 1).squeeze(-1).softmax(-1)
        context = torch.bmm(weights[:, None, :-1], state['feats']).squeeze(1)
        context = context + weights[:, -1:] * sentinel
        return weights, context

    def _advance(self, words: torch.Tensor, state: State) -> State:
        x = self.dropout(torch.cat([words, state['image']], 1))
        h, c = self.cell(x, (state['h'], state['c']))
        gate = torch.sigmoid(self.gate_input(x) + self.gate_hidden(state['h']))
        sentinel = gate * torch.tanh(c)
        weights, context = self.attend(h, sentinel, state)
        new = dict(state)
        new.update(h=h, c=c, alpha=weights, beta=weights[:, -1],
                   sentinel=sentinel, context=context)
        return new

    def _logits(self, state: State) -> torch.Tensor:
        return self.classifier(self.dropout(state['context'] + state['h']))

    # -------------------------------------------------------------- public
    def init_state(self, visual: VisualFeatures) -> State:
        """Project the image features; zero LSTM state before ``<bos>``.

        Args:
            visual (VisualFeatures): Features, one row per sequence.

        Returns:
            dict: Batch-first tensors ``feats`` ``(B, N, d)``, ``keys``
            ``(B, N, attn_dims)``, ``image`` ``(B, embed_dims)`` and ``h``,
            ``c`` ``(B, d)``.
        """
        self._check_visual(visual)
        feats = self.token_embed(visual.tokens)
        zeros = feats.new_zeros(feats.shape[0], self.hidden_dims)
        return dict(
            feats=feats,
            keys=self.attn_feat(feats),
            image=self.global_embed(visual.global_feat),
            h=zeros,
            c=zeros)

    def forward(self, visual: VisualFeatures,
                input_ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token scores.

        Args:
            visual (VisualFeatures): Study features.
            input_ids (Tensor): ``(B, T)`` ids, starting with ``<bos>``.

        Returns:
            Tensor: ``(B, T, vocab_size)``; position ``t`` scores the token
            after ``input_ids[:, t]``.
        """
        return self.forward_with_attention(visual, input_ids)[0]

    def forward_with_attention(
        self, visual: VisualFeatures, input_ids: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like :meth:`forward`, also returning where the model looked.

        Returns:
            tuple: Logits ``(B, T, vocab_size)``; attention ``(B, T, N + 1)``
            over the ``N`` positions and, last, the sentinel (rows sum to
            1); ``beta`` ``(B, T)``, the sentinel's weight (1: the word
            came from the language model, 0: from the image).
        """
        if input_ids.dim() != 2:
            raise ValueError('AdaptiveAttentionDecoder: input_ids must be '
                             f'(B, T), got shape {tuple(input_ids.shape)}')
        state = self.init_state(visual)
        words = self.word_embed(input_ids)
        logits, alphas = [], []
        for t in range(input_ids.shape[1]):
            state = self._advance(words[:, t], state)
            logits.append(self._logits(state))
            alphas.append(state['alpha'])
        alphas = torch.stack(alphas, 1)
        return torch.stack(logits, 1), alphas, alphas[..., -1]

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word.

        Args:
            tokens (Tensor): ``(B,)`` previous word ids.
            state (dict): From :meth:`init_state` or the previous step.

        Returns:
            tuple: ``(B, vocab_size)`` log-probabilities and the new state,
            which also holds this step's ``alpha`` ``(B, N + 1)``, ``beta``
            ``(B,)``, ``sentinel`` and ``context`` ``(B, d)``.
        """
        state = self._advance(self.word_embed(tokens), state)
        return self._logits(state).log_softmax(-1), state

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, '
                f'in_channels={self.in_channels}, '
                f'hidden_dims={self.hidden_dims}')
