# Copyright (c) rrgkit contributors. All rights reserved.
"""LSTM report decoder of Show-and-Tell (NIC, Vinyals et al., 2015)."""
from typing import Dict, Tuple

import torch
import torch.nn as nn

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['LSTMDecoder']

State = Dict[str, torch.Tensor]


@MODELS.register_module()
class LSTMDecoder(nn.Module):
    """An LSTM language model conditioned on the study's global feature.

    As in Show-and-Tell, the projected image vector ``x_{-1} = W_I f_g`` is
    the LSTM's first input; the words follow, starting with ``<bos>``
    (``feed_image='first'``). With ``feed_image='every_step'`` the image
    vector is also concatenated to every word embedding (the m-RNN-style
    variant), which keeps the image in view over long reports.

    Args:
        vocab_size (int): Number of tokens (set by the generator from its
            tokenizer).
        in_channels (int): Dimension of ``VisualFeatures.global_feat`` (set
            by the generator when omitted).
        embed_dims (int): Word and image embedding size. Defaults to 256.
        hidden_dims (int): LSTM hidden size. Defaults to 512.
        num_layers (int): Stacked LSTM layers. Defaults to 1.
        dropout (float): Dropout on embeddings and LSTM outputs.
            Defaults to 0.3.
        pad_id (int): Padding id (its embedding stays zero). Defaults to 0.
        feed_image (str): ``'first'`` (NIC) or ``'every_step'``.
            Defaults to ``'first'``.
    """

    def __init__(self,
                 vocab_size: int,
                 in_channels: int,
                 embed_dims: int = 256,
                 hidden_dims: int = 512,
                 num_layers: int = 1,
                 dropout: float = 0.3,
                 pad_id: int = 0,
                 feed_image: str = 'first') -> None:
        super().__init__()
        if feed_image not in ('first', 'every_step'):
            raise ValueError("LSTMDecoder: feed_image must be 'first' or "
                             f"'every_step', got {feed_image!r}")
        self.feed_image = feed_image
        every = feed_image == 'every_step'
        lstm_in = 2 * embed_dims if every else embed_dims
        self.vocab_size = vocab_size
        self.num_layers = num_layers
        self.hidden_dims = hidden_dims
        self.image_embed = nn.Sequential(
            nn.Linear(in_channels, embed_dims), nn.ReLU(inplace=True))
        self.word_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=pad_id)
        self.lstm = nn.LSTM(
            lstm_in,
            hidden_dims,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dims, vocab_size)

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
        image = self.image_embed(visual.global_feat).unsqueeze(1)
        words = self.word_embed(input_ids)
        seq = torch.cat([image, words], 1)
        if self.feed_image == 'every_step':
            seq = torch.cat([seq, image.expand_as(seq)], 2)
        out, _ = self.lstm(self.dropout(seq))
        return self.classifier(self.dropout(out[:, 1:]))

    def init_state(self, visual: VisualFeatures) -> State:
        """Feed the image vector; return the state before ``<bos>``."""
        image = self.image_embed(visual.global_feat).unsqueeze(1)
        first = image
        if self.feed_image == 'every_step':
            first = torch.cat([image, image], 2)
        _, (h, c) = self.lstm(first)
        # Batch first so beam search can reorder rows.
        return dict(h=h.transpose(0, 1), c=c.transpose(0, 1), image=image)

    def step(self, tokens: torch.Tensor,
             state: State) -> Tuple[torch.Tensor, State]:
        """Advance one word.

        Args:
            tokens (Tensor): ``(B,)`` previous word ids.
            state (dict): ``h`` and ``c`` of shape ``(B, layers, hidden)``
                and the image embedding ``(B, 1, embed_dims)``.

        Returns:
            tuple: ``(B, vocab_size)`` log-probabilities and the new state.
        """
        hc = (state['h'].transpose(0, 1).contiguous(),
              state['c'].transpose(0, 1).contiguous())
        x = self.word_embed(tokens).unsqueeze(1)
        if self.feed_image == 'every_step':
            x = torch.cat([x, state['image']], 2)
        out, (h, c) = self.lstm(x, hc)
        log_probs = self.classifier(out[:, 0]).log_softmax(-1)
        return log_probs, dict(
            h=h.transpose(0, 1), c=c.transpose(0, 1), image=state['image'])

    def extra_repr(self) -> str:
        return f'vocab_size={self.vocab_size}, layers={self.num_layers}'


