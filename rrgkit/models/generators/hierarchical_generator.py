# Copyright (c) rrgkit contributors. All rights reserved.
"""Hierarchical report generation (CoAtt, Jing et al., ACL 2018).

Reports are split into sentences on the token level: the tokenizer's token
sequence is cut after every sentence-ending token (``.`` for English,
``。`` for Chinese, which the tokenizers keep as tokens of their own). Each
sentence keeps its end mark, so joining the sentences gives the normalised
report back. A :class:`~rrgkit.models.decoders.HierarchicalLSTMDecoder`
scores the tags, one stop decision per sentence and the words; the loss is

``lambda_tag * L_tag + lambda_stop * L_stop + lambda_word * L_word``

with ``L_tag`` the paper's cross-entropy between the softmax of the tag
scores and the L1-normalised tag vector (or any multi-label loss such as
:class:`~rrgkit.models.losses.TagBCELoss`), ``L_stop`` the binary
cross-entropy of the stop logits (1 at the last sentence, 0 before it) and
``L_word`` the token cross-entropy of the words.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from rrgkit.models.utils.decoding import decode
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from .report_generator import ReportGenerator

__all__ = [
    'HierarchicalReportGenerator', 'split_sentences', 'tag_distribution_loss'
]

SENTENCE_ENDS = ('.', '。')


def split_sentences(tokens: Sequence,
                    end_tokens: Sequence = SENTENCE_ENDS,
                    max_sentences: Optional[int] = None,
                    max_sentence_len: Optional[int] = None) -> List[list]:
    """Cut a token sequence after every sentence-ending token.

    Every sentence keeps its end token; a last sentence without one is kept
    as it is; a lone end token (an empty sentence) is dropped. Works on
    token strings or on ids (with ids as ``end_tokens``).

    Args:
        tokens (Sequence): The tokens of one report.
        end_tokens (Sequence): Sentence-ending tokens.
            Defaults to ``('.', '。')``.
        max_sentences (int, optional): Keep the first ones only.
            Defaults to None (all).
        max_sentence_len (int, optional): Truncate each sentence to this
            many tokens (its end token counted). Defaults to None.

    Returns:
        list[list]: The sentences; ``[]`` for an empty report.
    """
    ends = set(end_tokens)
    sentences, current = [], []
    for token in tokens:
        current.append(token)
        if token in ends:
            if len(current) > 1:
                sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    if max_sentences is not None:
        sentences = sentences[:max_sentences]
    if max_sentence_len is not None:
        sentences = [s[:max_sentence_len] for s in sentences]
    return sentences


def tag_distribution_loss(logits: torch.Tensor,
                          targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between ``softmax(logits)`` and ``targets / |targets|_1``.

    The tag loss of CoAtt. Samples without any tag have no target
    distribution and are left out (zero loss when none has a tag).

    Args:
        logits (Tensor): ``(B, num_tags)`` tag scores.
        targets (Tensor): ``(B, num_tags)`` multi-hot tags.

    Returns:
        Tensor: The mean over samples with tags.
    """
    if logits.shape != targets.shape:
        raise ValueError(f'tag logits {tuple(logits.shape)} and tag targets '
                         f'{tuple(targets.shape)} differ in shape')
    logits = logits.float()
    targets = targets.to(logits.dtype)
    mass = targets.sum(1)
    has = mass > 0
    if not bool(has.any()):
        return logits.sum() * 0.0
    dist = targets[has] / mass[has, None]
    return -(dist * logits[has].log_softmax(-1)).sum(1).mean()


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'HierarchicalReportGenerator: {name} must be an '
                         f'int >= 1, got {value!r}')


@MODELS.register_module()
class HierarchicalReportGenerator(ReportGenerator):
    """Writes a report sentence by sentence (CoAtt).

    Takes the arguments of :class:`ReportGenerator` (``backbone``,
    ``decoder``, ``tokenizer``, ``loss`` (the word loss), ``beam_size``,
    ``length_penalty`` and ``decode_cfg`` (all per sentence: e.g.
    ``min_length`` counts the words of each sentence) ...) except
    ``max_len``, plus:

    Args:
        max_sentences (int): Sentences per report, in training (the first
            ones are kept) and generation. Defaults to 6.
        max_sentence_len (int): Tokens per sentence, its end mark counted
            and ``<bos>``/``<eos>`` not. Defaults to 40.
        sentence_end_tokens (Sequence[str]): Tokens that end a sentence.
            Defaults to ``('.', '。')``.
        stop_threshold (float): Generation stops after a sentence whose
            stop probability exceeds it. Defaults to 0.5.
        tag_loss (dict | nn.Module, optional): A multi-label loss
            ``(logits, targets) -> loss`` (e.g. ``TagBCELoss``); ``pred_tags``
            are then sigmoids. None uses :func:`tag_distribution_loss` (the
            paper) and softmax ``pred_tags``. Defaults to None.
        lambda_tag (float): Tag loss weight; 0 trains without tags (no
            ``gt_tags`` needed). Defaults to 1.
        lambda_stop (float): Stop loss weight. Defaults to 1.
        lambda_word (float): Word loss weight. Defaults to 1.

    The decoder must be a :class:`HierarchicalLSTMDecoder` (or provide its
    ``tag_logits``, ``init_sentence_state``, ``sentence_step`` and
    ``word_lstm``). Training samples need ``gt_report`` and ``gt_tags``.
    Predictions get ``pred_report`` (the sentences joined),
    ``pred_sentences`` and ``pred_tags``.
    """

    def __init__(self,
                 max_sentences: int = 6,
                 max_sentence_len: int = 40,
                 sentence_end_tokens: Sequence[str] = SENTENCE_ENDS,
                 stop_threshold: float = 0.5,
                 tag_loss: Optional[Union[dict, nn.Module]] = None,
                 lambda_tag: float = 1.0,
                 lambda_stop: float = 1.0,
                 lambda_word: float = 1.0,
                 **kwargs) -> None:
        if 'max_len' in kwargs:
            raise ValueError(
                'HierarchicalReportGenerator has no max_len: set '
                'max_sentences and max_sentence_len instead.')
        _check_positive_int('max_sentences', max_sentences)
        _check_positive_int('max_sentence_len', max_sentence_len)
        if not 0.0 < stop_threshold < 1.0:
            raise ValueError('HierarchicalReportGenerator: stop_threshold '
                             f'must be in (0, 1), got {stop_threshold}')
        lambdas = dict(lambda_tag=lambda_tag, lambda_stop=lambda_stop,
                       lambda_word=lambda_word)
        for name, value in lambdas.items():
            if value < 0:
                raise ValueError(f'HierarchicalReportGenerator: {name} must '
                                 f'be >= 0, got {value}')
        super().__init__(
            max_len=max_sentences * max_sentence_len + 1, **kwargs)
        missing = [
            name for name in ('tag_logits', 'init_sentence_state',
                              'sentence_step', 'word_lstm')
            if not hasattr(self.decoder, name)
        ]
        if missing:
            raise TypeError(
                f'HierarchicalReportGenerator: the decoder '
                f'{type(self.decoder).__name__} lacks {missing}; use '
                "decoder=dict(type='HierarchicalLSTMDecoder', ...).")
        self.max_sentences = max_sentences
        self.max_sentence_len = max_sentence_len
        self.sentence_end_tokens = tuple(sentence_end_tokens)
        self.stop_threshold = stop_threshold
        if isinstance(tag_loss, dict):
            tag_loss = MODELS.build(tag_loss)
        self.tag_loss = tag_loss
        self.lambda_tag = lambda_tag
        self.lambda_stop = lambda_stop
        self.lambda_word = lambda_word

    # ------------------------------------------------------------ targets
    def encode_sentences(
            self,
            reports: Sequence[str],
            device: Optional[torch.device] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Split reports into sentences and encode them.

        Args:
            reports (Sequence[str]): The reports.
            device (torch.device, optional): Device of the outputs.

        Returns:
            tuple: ``(B, S, L)`` ids (each sentence ``<bos> ... <eos>``,
            missing sentences all ``<pad>``) and ``(B,)`` sentence counts.
            An empty report is one empty sentence (``<bos> <eos>``).
        """
        tok = self.tokenizer
        vocab = tok.token_to_id
        rows = []
        for report in reports:
            sentences = split_sentences(
                tok.tokenize(report), self.sentence_end_tokens,
                self.max_sentences, self.max_sentence_len) or [[]]
            rows.append([[tok.bos_id] + [vocab.get(t, tok.unk_id)
                                         for t in s] + [tok.eos_id]
                         for s in sentences])
        counts = torch.tensor([len(r) for r in rows], dtype=torch.long)
        length = max((len(s) for r in rows for s in r), default=2)
        ids = torch.full((len(rows), max(map(len, rows), default=1), length),
                         tok.pad_id, dtype=torch.long)
        for b, row in enumerate(rows):
            for s, sentence in enumerate(row):
                ids[b, s, :len(sentence)] = torch.tensor(sentence)
        return ids.to(device), counts.to(device)

    def _tag_targets(self, data_samples: List[ReportDataSample],
                     device: torch.device) -> torch.Tensor:
        num_tags = self.decoder.num_tags
        targets = []
        for i, sample in enumerate(data_samples):
            where = sample.get('img_path', f'sample {i}')
            tags = sample.get('gt_tags')
            if tags is None:
                raise ValueError(
                    f'{where} has no gt_tags: HierarchicalReportGenerator '
                    'trains its tag classifier on them. Use a dataset with '
                    'tags (tags_file / tags_key, e.g. configs/_base_/'
                    'datasets/covctr_en_tags.py) or set lambda_tag=0.')
            if tags.numel() != num_tags:
                raise ValueError(
                    f'gt_tags of {where} has {tags.numel()} entries but '
                    f'model.decoder.num_tags={num_tags}; set num_tags to '
                    "the dataset's number of tag names.")
            targets.append(tags.reshape(-1))
        return torch.stack(targets).to(device=device, dtype=torch.float32)

    def tag_probs(self, tag_logits: torch.Tensor) -> torch.Tensor:
        """Tag probabilities: softmax with the paper's tag loss, else
        sigmoid."""
        if self.tag_loss is None:
            return tag_logits.softmax(-1)
        return tag_logits.sigmoid()

    # --------------------------------------------------------------- loss
    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReportDataSample]) -> dict:
        """``loss_tag``, ``loss_stop`` and ``loss_word`` (each weighted),
        plus any auxiliary losses."""
        visual, losses = self.extract_feat(inputs, data_samples)
        device = visual.global_feat.device  # inputs may be cached features
        ids, counts = self.encode_sentences(
            [sample.gt_report for sample in data_samples], device)
        out = self.decoder(visual, ids)
        tags = (self._tag_targets(data_samples, device)
                if self.lambda_tag > 0 else None)
        losses.update(self.hierarchical_losses(out, ids, counts, tags))
        losses.update(self.decoder_aux_losses())
        return losses

    def hierarchical_losses(self, out: dict, sentence_ids: torch.Tensor,
                     counts: torch.Tensor,
                     tag_targets: Optional[torch.Tensor]) -> dict:
        """Weighted tag, stop and word losses from the decoder's output.

        Args:
            out (dict): :meth:`HierarchicalLSTMDecoder.forward` output.
            sentence_ids (Tensor): ``(B, S, L)`` from
                :meth:`encode_sentences`.
            counts (Tensor): ``(B,)`` sentence counts.
            tag_targets (Tensor, optional): ``(B, num_tags)``; None skips
                the tag loss.

        Returns:
            dict: ``loss_stop``, ``loss_word`` and (with tags)
            ``loss_tag``.
        """
        losses = {}
        if tag_targets is not None:
            loss_fn = (tag_distribution_loss
                       if self.tag_loss is None else self.tag_loss)
            losses['loss_tag'] = self.lambda_tag * loss_fn(
                out['tag_logits'], tag_targets)
        stop_logits = out['stop_logits']
        position = torch.arange(stop_logits.shape[1],
                                device=stop_logits.device)
        exists = position < counts[:, None]
        is_last = (position == counts[:, None] - 1).to(stop_logits.dtype)
        losses['loss_stop'] = self.lambda_stop * \
            F.binary_cross_entropy_with_logits(stop_logits[exists].float(),
                                               is_last[exists].float())
        word_logits = out['word_logits'].flatten(0, 1)
        targets = sentence_ids[..., 1:].flatten(0, 1)
        losses['loss_word'] = self.lambda_word * self.loss_module(
            word_logits, targets)
        return losses

    def sequence_log_likelihood(self, visual: VisualFeatures,
                                texts: List[str]) -> torch.Tensor:
        """Log-likelihood of each text given its row of ``visual``.

        The sum of the words' log-probabilities (``<eos>`` of every
        sentence included) and of the stop decisions' log-probabilities.
        Texts are split and truncated as in training.

        Returns:
            Tensor: ``(len(texts),)`` log-likelihoods.
        """
        if visual.batch_size != len(texts):
            raise ValueError(f'{len(texts)} texts for {visual.batch_size} '
                             'feature rows')
        ids, counts = self.encode_sentences(texts, visual.global_feat.device)
        out = self.decoder(visual, ids)
        targets = ids[..., 1:]
        word = out['word_logits'].log_softmax(-1).gather(
            -1, targets.unsqueeze(-1)).squeeze(-1)
        word = (word * (targets != self.tokenizer.pad_id)).sum((1, 2))
        stop = out['stop_logits']
        position = torch.arange(stop.shape[1], device=stop.device)
        last = position == counts[:, None] - 1
        before = position < counts[:, None] - 1
        stop_ll = (F.logsigmoid(stop) * last + F.logsigmoid(-stop) * before)
        return word + stop_ll.sum(1)

    # --------------------------------------------------------- generation
    def _decode_words(self, topic: torch.Tensor) -> torch.Tensor:
        word_lstm = self.decoder.word_lstm
        kwargs = dict(
            init_state=lambda: word_lstm.init_state(topic),
            step=word_lstm.step,
            batch_size=topic.shape[0],
            bos_id=self.tokenizer.bos_id,
            eos_id=self.tokenizer.eos_id,
            max_len=self.max_sentence_len + 1,
            device=topic.device)
        return decode(**kwargs, **self.decode_options(topic.device))

    @torch.no_grad()
    def generate_sentences(
            self, visual: VisualFeatures
    ) -> Tuple[List[List[List[int]]], torch.Tensor]:
        """Generate sentences until the stop probability says so.

        Args:
            visual (VisualFeatures): Features of the batch.

        Returns:
            tuple: For every study, the ids of its sentences (``<eos>``
            excluded), and the ``(B, num_tags)`` tag logits.
        """
        eos = self.tokenizer.eos_id
        tag_logits = self.decoder.tag_logits(visual)
        state = self.decoder.init_sentence_state(visual, tag_logits)
        running = torch.ones(
            visual.batch_size, dtype=torch.bool,
            device=tag_logits.device)
        sentences: List[List[List[int]]] = [[] for _ in running]
        for _ in range(self.max_sentences):
            topic, stop, state = self.decoder.sentence_step(state)
            rows = running.nonzero().squeeze(1)
            words = self._decode_words(topic[rows]).tolist()
            for row, seq in zip(rows.tolist(), words):
                sentences[row].append(seq[:seq.index(eos)] if eos in
                                      seq else seq)
            running &= stop.sigmoid() <= self.stop_threshold
            if not bool(running.any()):
                break
        return sentences, tag_logits

    @torch.no_grad()
    def generate(self, visual: VisualFeatures) -> torch.Tensor:
        """Report ids ``(B, L)``: the sentences' ids one after the other,
        then ``<eos>`` (rows padded with ``<eos>``, as ``greedy_decode``)."""
        sentences, _ = self.generate_sentences(visual)
        eos = self.tokenizer.eos_id
        seqs = [[i for s in sents for i in s] + [eos] for sents in sentences]
        ids = torch.full((len(seqs), max(map(len, seqs))), eos,
                         dtype=torch.long)
        for row, seq in enumerate(seqs):
            ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        return ids.to(visual.global_feat.device)

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[ReportDataSample]] = None
    ) -> List[ReportDataSample]:
        """Generate reports; set ``pred_report``, ``pred_sentences``,
        ``pred_tags`` and (with references) ``gt_reports``."""
        visual, _ = self.extract_feat(inputs, data_samples)
        sentences, tag_logits = self.generate_sentences(visual)
        tag_probs = self.tag_probs(tag_logits)
        if data_samples is None:
            data_samples = [ReportDataSample() for _ in sentences]
        for i, (sample, sents) in enumerate(zip(data_samples, sentences)):
            texts = [self.tokenizer.decode(s) for s in sents]
            sample.set_pred_report(
                self.tokenizer.join_texts(t for t in texts if t.strip()))
            sample.pred_sentences = texts
            sample.pred_tags = tag_probs[i]
            refs = sample.references
            if refs:
                sample.gt_reports = [
                    self.tokenizer.detokenize_reference(r) for r in refs
                ]
        return data_samples
