# Copyright (c) rrgkit contributors. All rights reserved.
"""Retrieval-augmented encoder: the nearest training reports as tokens."""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from rrgkit.models.utils.memory_bank import ReportMemoryBank
from rrgkit.models.utils.visual_features import (TOKEN_MASK, VisualFeatures,
                                                 token_mask)
from rrgkit.registry import MODELS

__all__ = ['RetrievalEncoder']

INIT_STD = 0.02


@MODELS.register_module()
class RetrievalEncoder(nn.Module):
    """Append the reports of the ``k`` nearest training images to the tokens.

    Each image is embedded as ``normalise(W visual.global_feat)`` (the
    pooled visual feature, projected, L2-normalised). A memory bank holds
    the embeddings and tokenised reports of the training split (filled by
    :class:`~rrgkit.engine.hooks.RetrievalBankHook` from the current
    weights); the ``num_neighbours`` most cosine-similar entries are
    retrieved, a training image never retrieving itself (by image id).

    Every retrieved token becomes ``LayerNorm(word + position + rank
    [+ W_s * similarity])`` (``in_channels`` wide; ``rank`` is the
    neighbour's rank, 0 for the nearest) and the ``k * L`` tokens are
    appended to ``visual.tokens``, so an attention decoder attends over the
    image positions and the retrieved words together and can copy and edit
    them. Padding positions are zero and marked False in
    ``visual.extras['token_mask']``, which :class:`GPTDecoder` and
    :class:`AttentionLSTMDecoder` honour. ``global_feat`` and ``feat_map``
    are kept; ``extras`` gains ``retrieved_index`` ``(B, k)`` (bank rows)
    and ``retrieval_similarity`` ``(B, k)``.

    The retrieval itself is not differentiable. With ``use_similarity``
    the similarity of each neighbour (a differentiable function of the
    query embedding) is a feature of its tokens, which is how the
    projection ``W`` and the backbone learn from the word loss; without it
    ``W`` stays at its random initialisation (a random projection roughly
    keeps cosine similarities).

    Args:
        in_channels (int): Size of ``visual.tokens``/``global_feat`` (set
            by the generator); also the size of the retrieved tokens.
        vocab_size (int): Number of tokens (set by the generator).
        num_neighbours (int): Reports retrieved per image ``k``.
            Defaults to 3.
        key_dims (int, optional): Size of the retrieval embedding; None
            uses the pooled feature itself (no projection). Defaults to 256.
        max_report_len (int): Tokens kept per retrieved report (``<bos>``
            and ``<eos>`` included); also the number of positions.
            Defaults to 100.
        use_similarity (bool): Add the retrieval similarity to the tokens.
            Defaults to True.
        exclude_self (bool): A query whose ``img_id`` is in the bank never
            retrieves that entry. Defaults to True.
        dropout (float): Dropout on the retrieved tokens. Defaults to 0.1.
        pad_id (int): Padding id (set by the generator). Defaults to 0.
    """

    def __init__(self,
                 in_channels: int,
                 vocab_size: int,
                 num_neighbours: int = 3,
                 key_dims: Optional[int] = 256,
                 max_report_len: int = 100,
                 use_similarity: bool = True,
                 exclude_self: bool = True,
                 dropout: float = 0.1,
                 pad_id: int = 0) -> None:
        super().__init__()
        for name, value in (('in_channels', in_channels),
                            ('vocab_size', vocab_size),
                            ('num_neighbours', num_neighbours),
                            ('max_report_len', max_report_len)):
            if value is None or value < 1:
                raise ValueError(
                    f'RetrievalEncoder: {name} must be a positive integer, '
                    f'got {value}; set model.encoder.{name} (in_channels '
                    'and vocab_size are filled in when left unset).')
        if key_dims is not None and key_dims < 1:
            raise ValueError('RetrievalEncoder: key_dims must be positive or'
                             f' None, got {key_dims}')
        self.in_channels = self.out_channels = in_channels
        self.num_neighbours = num_neighbours
        self.max_report_len = max_report_len
        self.exclude_self = exclude_self
        self.pad_id = pad_id
        self.key_proj = (nn.Identity() if key_dims is None else nn.Linear(
            in_channels, key_dims))
        self.word_embed = nn.Embedding(
            vocab_size, in_channels, padding_idx=pad_id)
        self.pos_embed = nn.Embedding(max_report_len, in_channels)
        self.rank_embed = nn.Embedding(num_neighbours, in_channels)
        self.sim_proj = nn.Linear(1, in_channels) if use_similarity else None
        self.norm = nn.LayerNorm(in_channels)
        self.dropout = nn.Dropout(dropout)
        for module in (self.word_embed, self.pos_embed, self.rank_embed):
            nn.init.normal_(module.weight, 0.0, INIT_STD)
        with torch.no_grad():
            self.word_embed.weight[pad_id].zero_()
        self.bank = ReportMemoryBank()
        self._collecting = False

    # ------------------------------------------------------------ the bank
    def embed(self, global_feat: torch.Tensor) -> torch.Tensor:
        """The L2-normalised retrieval embedding ``(B, key_dims)``."""
        return F.normalize(self.key_proj(global_feat), dim=-1)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Within this context :meth:`forward` retrieves nothing and puts
        the embedding in ``visual.extras['retrieval_key']`` (to fill the
        bank)."""
        self._collecting = True
        try:
            yield
        finally:
            self._collecting = False

    def set_bank(self,
                 keys: torch.Tensor,
                 report_ids: torch.Tensor,
                 image_ids: Sequence[str],
                 built_at: int = -1) -> None:
        """Replace the memory bank.

        Args:
            keys (Tensor): ``(N, key_dims)`` embeddings from :meth:`embed`.
            report_ids (Tensor): ``(N, L)`` report token ids, ``L <=
                max_report_len``, padded with ``pad_id``.
            image_ids (Sequence[str]): The ``N`` image ids.
            built_at (int): Training iteration of the weights that computed
                ``keys``. Defaults to -1 (unknown).
        """
        if report_ids.shape[-1] > self.max_report_len:
            raise ValueError(
                f'RetrievalEncoder: reports of {report_ids.shape[-1]} tokens '
                f'exceed max_report_len={self.max_report_len}; encode them '
                'with max_len=max_report_len.')
        device = self.word_embed.weight.device
        self.bank = ReportMemoryBank(keys, report_ids, image_ids,
                                     built_at).to(device)

    def get_extra_state(self) -> dict:
        """The bank travels in the ``state_dict`` (and checkpoints)."""
        return self.bank.state_dict()

    def set_extra_state(self, state: dict) -> None:
        self.bank = ReportMemoryBank.from_state_dict(state).to(
            self.word_embed.weight.device)

    # ------------------------------------------------------------ forward
    def embed_reports(
            self,
            report_ids: torch.Tensor,
            similarity: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Tokens of retrieved reports.

        Args:
            report_ids (Tensor): ``(B, k, L)`` ids, ``k <= num_neighbours``,
                ``L <= max_report_len``.
            similarity (Tensor, optional): ``(B, k)``; required when
                ``use_similarity``.

        Returns:
            tuple[Tensor, Tensor]: ``(B, k * L, in_channels)`` tokens (zero
            at padding) and the ``(B, k * L)`` mask, True at words.
        """
        _, k, L = report_ids.shape
        mask = report_ids != self.pad_id
        x = (self.word_embed(report_ids) + self.pos_embed.weight[:L] +
             self.rank_embed.weight[:k, None])
        if self.sim_proj is not None:
            x = x + self.sim_proj(similarity.unsqueeze(-1)).unsqueeze(2)
        x = self.dropout(self.norm(x)) * mask.unsqueeze(-1).to(x.dtype)
        return x.flatten(1, 2), mask.flatten(1)

    def retrieve(
        self,
        key: torch.Tensor,
        image_ids: Optional[List[Optional[str]]] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Similarities ``(B, k)`` (differentiable in ``key``) and bank rows
        ``(B, k)`` of the nearest entries, excluding ``image_ids``."""
        if self.bank.keys.device != key.device:
            self.bank.to(key.device)
        _, index = self.bank.search(key, self.num_neighbours, image_ids)
        neighbours = self.bank.keys[index].to(key.dtype)  # (B, k, D)
        return (neighbours * key.unsqueeze(1)).sum(-1), index

    def forward(
        self,
        visual: VisualFeatures,
        data_samples: Optional[List] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Retrieve the nearest training reports and append their tokens.

        Args:
            visual (VisualFeatures): Features of the batch.
            data_samples (list, optional): Their ``img_id`` is excluded from
                their own neighbours (``exclude_self``).

        Returns:
            tuple: The features with ``tokens`` ``(B, N + k * L, C)`` and
            ``extras['token_mask']``, and an empty loss dict.
        """
        key = self.embed(visual.global_feat)
        extras = dict(visual.extras)
        if self._collecting:
            extras['retrieval_key'] = key
            return visual.replace(extras=extras), {}
        image_ids = None
        if self.exclude_self and data_samples is not None:
            image_ids = [sample.get('img_id') for sample in data_samples]
        similarity, index = self.retrieve(key, image_ids)
        reports = self.bank.report_ids[index]  # (B, k, L)
        longest = int((reports != self.pad_id).sum(-1).max())
        words, word_mask = self.embed_reports(reports[..., :longest],
                                              similarity)
        mask = token_mask(visual)
        if mask is None:
            mask = visual.tokens.new_ones(visual.tokens.shape[:2],
                                          dtype=torch.bool)
        extras.update({
            TOKEN_MASK: torch.cat([mask, word_mask], 1),
            'retrieved_index': index,
            'retrieval_similarity': similarity.detach()
        })
        tokens = torch.cat([visual.tokens, words.to(visual.tokens.dtype)], 1)
        return visual.replace(tokens=tokens, extras=extras), {}

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, k={self.num_neighbours}, '
                f'max_report_len={self.max_report_len}, bank={len(self.bank)}')
