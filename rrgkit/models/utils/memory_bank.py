# Copyright (c) rrgkit contributors. All rights reserved.
"""A memory bank of training reports keyed by image embeddings.

The bank holds, for every training image, its L2-normalised embedding, its
report as token ids and its image id. :func:`top_k_similar` looks up the
``k`` nearest rows of a query (cosine similarity when both sides are
normalised), optionally excluding some rows (a query's own image).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ['RetrievalBankError', 'ReportMemoryBank', 'top_k_similar']

BANK_FORMAT = 'rrgkit-report-bank-v1'


class RetrievalBankError(RuntimeError):
    """The memory bank is empty or too small for the retrieval asked for."""


def top_k_similar(query: torch.Tensor,
                  keys: torch.Tensor,
                  k: int,
                  exclude: Optional[torch.Tensor] = None
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` keys with the highest dot product with each query.

    With L2-normalised rows the score is the cosine similarity. Ties go to
    the lower key index.

    Args:
        query (Tensor): ``(B, D)`` queries.
        keys (Tensor): ``(N, D)`` keys.
        k (int): Neighbours per query.
        exclude (Tensor, optional): ``(B, N)`` boolean, True where a key may
            not be returned for that query. Defaults to None.

    Returns:
        tuple[Tensor, Tensor]: ``(B, k)`` scores (descending) and ``(B, k)``
        key indices.
    """
    scores = query @ keys.T
    available = keys.shape[0]
    if exclude is not None:
        scores = scores.masked_fill(exclude, float('-inf'))
        if exclude.numel():
            available -= int(exclude.sum(1).max())
    if not 1 <= k <= available:
        raise RetrievalBankError(
            f'Cannot retrieve {k} neighbours: the memory bank has '
            f'{keys.shape[0]} entries, {available} of them allowed for '
            'every query; lower num_neighbours or use a larger bank.')
    # A stable sort puts equal scores in index order (topk does not).
    order = scores.sort(dim=1, descending=True, stable=True).indices[:, :k]
    return scores.gather(1, order), order


class ReportMemoryBank:
    """Embeddings, report token ids and image ids of a set of images.

    Args:
        keys (Tensor, optional): ``(N, D)`` L2-normalised embeddings.
        report_ids (Tensor, optional): ``(N, L)`` token ids of the reports,
            padded.
        image_ids (Sequence[str], optional): ``N`` image ids.
        built_at (int): The training iteration whose weights computed the
            keys (-1 when unknown). Defaults to -1.
    """

    def __init__(self,
                 keys: Optional[torch.Tensor] = None,
                 report_ids: Optional[torch.Tensor] = None,
                 image_ids: Optional[Sequence[str]] = None,
                 built_at: int = -1) -> None:
        keys = torch.zeros(0, 0) if keys is None else keys.detach()
        report_ids = (torch.zeros(0, 0, dtype=torch.long)
                      if report_ids is None else report_ids.detach().long())
        image_ids = [] if image_ids is None else [str(i) for i in image_ids]
        if keys.dim() != 2 or report_ids.dim() != 2:
            raise ValueError('ReportMemoryBank: keys must be (N, D) and '
                             'report_ids (N, L); got shapes '
                             f'{tuple(keys.shape)} and '
                             f'{tuple(report_ids.shape)}')
        if not keys.shape[0] == report_ids.shape[0] == len(image_ids):
            raise ValueError(
                f'ReportMemoryBank: {keys.shape[0]} keys, '
                f'{report_ids.shape[0]} reports and {len(image_ids)} image '
                'ids; give one of each per image.')
        self.keys = keys
        self.report_ids = report_ids
        self.image_ids: List[str] = image_ids
        self.built_at = int(built_at)
        self._rows: Dict[str, List[int]] = {}
        for row, image_id in enumerate(self.image_ids):
            self._rows.setdefault(image_id, []).append(row)

    def __len__(self) -> int:
        return len(self.image_ids)

    def to(self, device: torch.device) -> 'ReportMemoryBank':
        """Move the tensors to ``device`` (in place); return self."""
        self.keys = self.keys.to(device)
        self.report_ids = self.report_ids.to(device)
        return self

    def exclusion_mask(self, image_ids: Sequence[Optional[str]]
                       ) -> torch.Tensor:
        """``(B, N)`` boolean: True where a bank row has the query's id.

        Args:
            image_ids (Sequence[str | None]): The queries' image ids (None
                excludes nothing for that query).
        """
        mask = torch.zeros(len(image_ids), len(self), dtype=torch.bool)
        for i, image_id in enumerate(image_ids):
            if image_id is not None:
                mask[i, self._rows.get(str(image_id), [])] = True
        return mask.to(self.keys.device)

    def search(self,
               query: torch.Tensor,
               k: int,
               exclude_ids: Optional[Sequence[Optional[str]]] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` rows most similar to each query.

        Args:
            query (Tensor): ``(B, D)`` L2-normalised queries.
            k (int): Neighbours per query.
            exclude_ids (Sequence[str | None], optional): Per query, an
                image id whose rows are skipped (its own image).

        Returns:
            tuple[Tensor, Tensor]: ``(B, k)`` cosine similarities (no
            gradient) and row indices, most similar first.
        """
        if not len(self):
            raise RetrievalBankError(
                'The memory bank of training reports of RetrievalEncoder '
                "(model.encoder) is empty: add dict(type='RetrievalBankHook')"
                " to the config's custom_hooks (it fills the bank from the "
                'training split before training and evaluation), or call '
                'rrgkit.engine.hooks.refresh_retrieval_bank(model, batches); '
                'see docs/retrieval_augmented.md.')
        if query.shape[-1] != self.keys.shape[1]:
            raise ValueError(
                f'ReportMemoryBank: queries have {query.shape[-1]} dims but '
                f'the bank keys {self.keys.shape[1]}; refresh the bank with '
                'the current model.')
        exclude = None
        if exclude_ids is not None:
            exclude = self.exclusion_mask(exclude_ids)
        with torch.no_grad():
            return top_k_similar(query.detach().to(self.keys.dtype),
                                 self.keys, k, exclude)

    def state_dict(self) -> dict:
        """CPU tensors and ids, for a checkpoint."""
        return dict(format=BANK_FORMAT, keys=self.keys.cpu(),
                    report_ids=self.report_ids.cpu(),
                    image_ids=list(self.image_ids), built_at=self.built_at)

    @classmethod
    def from_state_dict(cls, state: dict) -> 'ReportMemoryBank':
        """Rebuild a bank from :meth:`state_dict`."""
        if not isinstance(state, dict) or state.get('format') != BANK_FORMAT:
            raise ValueError('Not a report memory bank state (expected '
                             f'format {BANK_FORMAT!r}).')
        return cls(state['keys'], state['report_ids'], state['image_ids'],
                   state['built_at'])
