# Copyright (c) rrgkit contributors. All rights reserved.
"""LSTM decoder with soft attention over the image's spatial features.

Two attention forms:

* ``'soft'`` (Show, Attend and Tell, Xu et al., 2015): the score of
  position ``i`` is ``w^T tanh(W_v v_i + W_h h_{t-1})``;
* ``'aas'`` (MDNet, Zhang et al., 2017, eq. 9): the scores are
  ``W_att tanh(W_h h_{t-1} + c)`` where ``c`` is the class map of
  :class:`~rrgkit.models.region_proposers.AASProposer`
  (``visual.extras['class_map']``, one value per position), so the
  diagnosis sharpens where the language model looks. This form needs a
  fixed number of positions (``num_positions``).

The context ``z_t = sum_i a_ti v_i`` joins the word embedding at the LSTM's
input and the hidden state at its output. The sequence starts with the image
vector ``x_0 = W_F F(I)``, then, with ``num_tasks``, the task token
``x_1 = E S(e)`` (MDNet's task duplication: which description to write),
then the words from ``<bos>``.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import (VisualFeatures,
                                                 masked_token_mean, token_mask)
from rrgkit.registry import MODELS

__all__ = ['AttentionLSTMDecoder']

State = Dict[str, torch.Tensor]
ATTENTIONS = ('soft', 'aas')


@MODELS.register_module()
class AttentionLSTMDecoder(nn.Module):
    """An LSTM language model attending over ``visual.tokens``.

    Tokens that ``visual.extras['token_mask']`` marks False (padding) get
    no attention and are left out of the mean that starts the LSTM.

    Args:
        vocab_size (int): Number of tokens (set by the generator).
        in_channels (int): Feature size of ``visual.tokens`` and
            ``visual.global_feat`` (set by the generator when omitted).
        embed_dims (int): Word, task and image embedding size.
            Defaults to 256.
        hidden_dims (int): LSTM hidden size. Defaults to 512.
        attn_dims (int): Attention size (``'soft'``). Defaults to 256.
        attention (str): ``'soft'`` or ``'aas'``. Defaults to ``'soft'``.
        num_positions (int, optional): Spatial positions of ``tokens``
            (``h * w``); required by ``'aas'``.
        num_tasks (int): Task tokens for task duplication; 0 for none.
            Defaults to 0.
        dropout (float): Dropout on embeddings and outputs. Defaults to 0.3.
        pad_id (int): Padding id. Defaults to 0.
        doubly_stochastic (float): Weight ``lambda`` of Show-Attend-and-
            Tell's attention regulariser
            ``lambda * sum_i (1 - sum_t alpha_ti)^2`` (mean over the batch,
            padded steps excluded), returned by :meth:`aux_losses` after a
            training forward as ``loss_attention``. Defaults to 0 (off).
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: int,
                 embed_dims: int = 256,
                 hidden_dims: int = 512,
                 attn_dims: int = 256,
                 attention: str = 'soft',
                 num_positions: Optional[int] = None,
                 num_tasks: int = 0,
                 dropout: float = 0.3,
                 pad_id: int = 0,
                 doubly_stochastic: float = 0.0) -> None:
        super().__init__()
        if doubly_stochastic < 0:
            raise ValueError('AttentionLSTMDecoder: doubly_stochastic must '
                             f'be >= 0, got {doubly_stochastic}')
        self.doubly_stochastic = float(doubly_stochastic)
        self.pad_id = pad_id
        self._aux: Dict[str, torch.Tensor] = {}
        if attention not in ATTENTIONS:
            raise ValueError(f'AttentionLSTMDecoder: attention must be one of '
                             f'{ATTENTIONS}, got {attention!r}')
        if attention == 'aas' and not num_positions:
            raise ValueError(
                "AttentionLSTMDecoder: attention='aas' needs num_positions "
                '(h * w of the feature map, e.g. 64 for 8x8).')
        self.vocab_size = vocab_size
        self.attention = attention
        self.num_positions = num_positions
        self.num_tasks = num_tasks
        self.hidden_dims = hidden_dims
        self.image_embed = nn.Sequential(
            nn.Linear(in_channels, embed_dims), nn.ReLU(inplace=True))
        self.word_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=pad_id)
        self.task_embed = (nn.Embedding(num_tasks, embed_dims)
                           if num_tasks else None)
        if attention == 'soft':
            self.attn_feat = nn.Linear(in_channels, attn_dims)
            self.attn_hidden = nn.Linear(hidden_dims, attn_dims)
            self.attn_score = nn.Linear(attn_dims, 1)
        else:
            self.attn_hidden = nn.Linear(hidden_dims, num_positions)
            self.attn_score = nn.Linear(num_positions, num_positions)
        self.init_h = nn.Linear(in_channels, hidden_dims)
        self.init_c = nn.Linear(in_channels, hidden_dims)
        self.cell = nn.LSTMCell(embed_dims + in_channels, hidden_dims)
        self.context_out = nn.Linear(in_channels, hidden_dims)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dims, vocab_size)

    # ------------------------------------------------------------ attention
    def _prepare(self, visual: VisualFeatures) -> State:
        """Per-sequence tensors that stay fixed while decoding."""
        tokens = visual.tokens
        state = dict(tokens=tokens)
        mask = token_mask(visual)
        if mask is not None:
            state['mask'] = mask
        if self.attention == 'soft':
            state['keys'] = self.attn_feat(tokens)
        else:
            cmap = visual.extras.get('class_map')
            if cmap is None:
                raise ValueError(
                    "AttentionLSTMDecoder(attention='aas') needs "
                    "visual.extras['class_map']: use region_proposer="
                    "dict(type='AASProposer', ...).")
            if cmap.shape[1] != self.num_positions or \
                    tokens.shape[1] != self.num_positions:
                raise ValueError(
                    f'AttentionLSTMDecoder: num_positions='
                    f'{self.num_positions} but the features have '
                    f'{tokens.shape[1]} positions; set num_positions to h*w '
                    'of the backbone output for this image size.')
            state['keys'] = cmap
        return state

    def attend(self, h: torch.Tensor,
               state: State) -> Tuple[torch.Tensor, torch.Tensor]:
        """Attention weights ``(B, N)`` and context ``(B, D)``."""
        if self.attention == 'soft':
            scores = self.attn_score(
                torch.tanh(state['keys'] +
                           self.attn_hidden(h).unsqueeze(1))).squeeze(-1)
        else:
            scores = self.attn_score(
                torch.tanh(self.attn_hidden(h) + state['keys']))
        if 'mask' in state:
            scores = scores.masked_fill(~state['mask'], float('-inf'))
        alpha = scores.softmax(-1)
        context = torch.bmm(alpha.unsqueeze(1), state['tokens']).squeeze(1)
        return alpha, context

    def _advance(self, x: torch.Tensor, state: State) -> State:
        alpha, context = self.attend(state['h'], state)
        h, c = self.cell(torch.cat([self.dropout(x), context], 1),
                         (state['h'], state['c']))
        new = dict(state)
        new.update(h=h, c=c, alpha=alpha, context=context)
        return new

    def _logits(self, state: State) -> torch.Tensor:
        out = state['h'] + self.context_out(state['context'])
        return self.classifier(self.dropout(out))

    # -------------------------------------------------------------- public
    def init_state(self,
                   visual: VisualFeatures,
                   task_ids: Optional[torch.Tensor] = None) -> State:
        """Feed the image vector (and the task token); state before ``<bos>``.

        Args:
            visual (VisualFeatures): Features, one row per sequence.
            task_ids (Tensor, optional): ``(B,)`` task of each sequence;
                required when ``num_tasks > 0``.
        """
        state = self._prepare(visual)
        mean = masked_token_mean(visual)
        state.update(h=torch.tanh(self.init_h(mean)),
                     c=torch.tanh(self.init_c(mean)))
        state = self._advance(self.image_embed(visual.global_feat), state)
        if self.task_embed is not None:
            if task_ids is None:
                raise ValueError(
                    f'AttentionLSTMDecoder has num_tasks={self.num_tasks}: '
                    'pass task_ids (the generator does this).')
            if task_ids.numel() and (task_ids.min() < 0
                                     or task_ids.max() >= self.num_tasks):
                raise ValueError(f'task ids {task_ids.tolist()} outside '
                                 f'0..{self.num_tasks - 1}')
            state = self._advance(self.task_embed(task_ids), state)
        return state

    def forward(self,
                visual: VisualFeatures,
                input_ids: torch.Tensor,
                task_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Teacher-forced next-token scores ``(B, T, vocab_size)``."""
        logits, alphas = self.forward_with_attention(visual, input_ids,
                                                     task_ids)
        if self.training and self.doubly_stochastic > 0:
            mask = (input_ids != self.pad_id).unsqueeze(-1).to(alphas.dtype)
            coverage = (alphas * mask).sum(1)  # (B, N)
            self._aux['loss_attention'] = self.doubly_stochastic * (
                (1.0 - coverage)**2).sum(1).mean()
        return logits

    def aux_losses(self) -> Dict[str, torch.Tensor]:
        """Losses of the last training forward (then forgotten)."""
        aux, self._aux = self._aux, {}
        return aux

    def forward_with_attention(
            self,
            visual: VisualFeatures,
            input_ids: torch.Tensor,
            task_ids: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`forward`, also returning the attention ``(B, T, N)``
        used to predict each next word (for pictures)."""
        state = self.init_state(visual, task_ids)
        logits, alphas = [], []
        for t in range(input_ids.shape[1]):
            state = self._advance(self.word_embed(input_ids[:, t]), state)
            logits.append(self._logits(state))
            alphas.append(state['alpha'])
        return torch.stack(logits, 1), torch.stack(alphas, 1)

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word: ``(B, vocab_size)`` log-probabilities."""
        state = self._advance(self.word_embed(tokens), state)
        return self._logits(state).log_softmax(-1), state

    def extra_repr(self) -> str:
        return (f'vocab_size={self.vocab_size}, attention={self.attention!r},'
                f' num_tasks={self.num_tasks}')
