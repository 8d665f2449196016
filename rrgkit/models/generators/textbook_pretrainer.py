# Copyright (c) rrgkit contributors. All rights reserved.
"""ASGK stage 1: pretrain the report decoder on textbook sentences.

A sentence is embedded, encoded by a one-layer GRU, and the GRU's final
state is projected to a few memory tokens: the "external auxiliary signal".
The decoder learns to reconstruct the sentence from that signal. The
decoder is stored as ``decoder`` and the vocabulary as ``vocab`` exactly as
in :class:`~.report_generator.ReportGenerator`, so the stage-1 checkpoint's
``decoder.*`` weights fit a report generator with the same decoder config
and tokenizer (see :func:`load_decoder_from`).
"""
import os
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import (BaseDataPreprocessor, BaseModel,
                            is_model_wrapper)
from torch.nn.utils.rnn import pack_padded_sequence

from rrgkit.models.tokenizers import ReportTokenizer, build_tokenizer
from rrgkit.models.utils.decoding import greedy_decode
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint
from .report_generator import ReportGenerator, _VocabularyState

__all__ = ['TextbookPretrainer', 'load_decoder_from']

VOCAB_KEY = 'vocab._extra_state'


@MODELS.register_module()
class TextbookPretrainer(BaseModel):
    """Reconstructs textbook sentences from a GRU-encoded signal (ASGK).

    ``signal = Linear(GRU(Embedding(sentence))[-1])`` reshaped to
    ``(B, num_memory_tokens, memory_channels)`` is the memory the decoder
    attends to (``VisualFeatures.tokens``); the decoder is trained with
    teacher forcing on the same sentence. ``memory_channels`` should equal
    the width of the memory the decoder sees in the report generator (the
    tag graph's ``d_model``), so that its memory projection is pretrained
    too.

    Args:
        decoder (dict | nn.Module): The decoder, e.g. ``GPTDecoder``.
            ``vocab_size``, ``pad_id`` and ``in_channels``
            (``memory_channels``) are filled in when omitted.
        tokenizer (dict | ReportTokenizer): Tokenizer config or object, built
            with :func:`build_tokenizer`. Use the report training split as
            its ``corpus`` so the report generator shares the vocabulary;
            textbook words outside it become ``<unk>``.
        embed_dims (int): Word embedding size of the sentence encoder.
            Defaults to 300.
        gru_hidden (int): GRU hidden size. Defaults to 1024.
        memory_channels (int): Width of each signal token. Defaults to 512.
        num_memory_tokens (int): Number of signal tokens. Defaults to 1.
        max_len (int): Maximum sentence length in tokens, ``<bos>``/``<eos>``
            included (longer ones are truncated). Defaults to 300.
        loss (dict | nn.Module): Word loss. Defaults to ``ReportNLLLoss``.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            mmengine's :class:`BaseDataPreprocessor` (inputs are
            placeholders, see ``PackTextInputs``).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 decoder: Union[dict, nn.Module],
                 tokenizer: Union[dict, ReportTokenizer],
                 embed_dims: int = 300,
                 gru_hidden: int = 1024,
                 memory_channels: int = 512,
                 num_memory_tokens: int = 1,
                 max_len: int = 300,
                 loss: Union[dict, nn.Module] = dict(type='ReportNLLLoss'),
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = BaseDataPreprocessor()
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if min(embed_dims, gru_hidden, memory_channels,
               num_memory_tokens) < 1 or max_len < 3:
            raise ValueError(
                'TextbookPretrainer: embed_dims, gru_hidden, memory_channels '
                'and num_memory_tokens must be >= 1 and max_len >= 3.')
        self.tokenizer = build_tokenizer(tokenizer)
        self.vocab = _VocabularyState(self.tokenizer)
        self.memory_channels = memory_channels
        self.num_memory_tokens = num_memory_tokens
        self.max_len = max_len
        vocab_size = len(self.tokenizer)
        self.text_embed = nn.Embedding(
            vocab_size, embed_dims, padding_idx=self.tokenizer.pad_id)
        self.text_gru = nn.GRU(
            embed_dims, gru_hidden, num_layers=1, batch_first=True)
        self.signal_proj = nn.Linear(gru_hidden,
                                     num_memory_tokens * memory_channels)
        self.decoder = self._build_decoder(decoder)
        if isinstance(loss, dict):
            loss = dict(loss)
            loss.setdefault('ignore_index', self.tokenizer.pad_id)
            loss = MODELS.build(loss)
        self.loss_module = loss

    def _build_decoder(self, decoder: Union[dict, nn.Module]) -> nn.Module:
        """Build the decoder like ``ReportGenerator``; it reads the signal."""
        if isinstance(decoder, dict):
            decoder = dict(decoder)
            vocab_size = len(self.tokenizer)
            if decoder.setdefault('vocab_size', vocab_size) != vocab_size:
                raise ValueError(
                    f'model.decoder.vocab_size={decoder["vocab_size"]} but '
                    f'the tokenizer has {vocab_size} tokens; remove '
                    'vocab_size from the decoder config so it follows the '
                    'tokenizer.')
            params = ReportGenerator._init_params(decoder['type'])
            if 'pad_id' in params:
                decoder.setdefault('pad_id', self.tokenizer.pad_id)
            if 'in_channels' in params:
                given = decoder.get('in_channels')
                if given is not None and given != self.memory_channels:
                    raise ValueError(
                        f'model.decoder.in_channels={given} but '
                        f'memory_channels={self.memory_channels}; the '
                        'decoder reads the signal, so leave in_channels '
                        'unset or make them equal.')
                decoder['in_channels'] = self.memory_channels
            decoder = MODELS.build(decoder)
        positions = getattr(decoder, 'max_len', None)
        if positions is not None and positions < self.max_len - 1:
            raise ValueError(
                f'model.decoder.max_len={positions} positions cannot read '
                f'sentences of max_len={self.max_len} tokens (it needs '
                f'{self.max_len - 1}); raise decoder.max_len or lower '
                'max_len.')
        return decoder

    # ---------------------------------------------------------------- signal
    def _encode(self,
                reports: List[str]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Padded ids on the model's device, and lengths."""
        device = self.text_embed.weight.device
        ids, lengths = self.tokenizer.batch_encode(reports,
                                                   max_len=self.max_len)
        return ids.to(device), lengths

    def encode_signal(self, ids: torch.Tensor,
                      lengths: torch.Tensor) -> torch.Tensor:
        """The external signal of tokenised sentences.

        Args:
            ids (Tensor): ``(B, T)`` padded ids (``<bos>`` ... ``<eos>``).
            lengths (Tensor): ``(B,)`` unpadded lengths.

        Returns:
            Tensor: ``(B, num_memory_tokens, memory_channels)``.
        """
        packed = pack_padded_sequence(
            self.text_embed(ids), lengths.cpu(), batch_first=True,
            enforce_sorted=False)
        _, hidden = self.text_gru(packed)  # (1, B, gru_hidden)
        signal = self.signal_proj(hidden[-1])
        return signal.view(-1, self.num_memory_tokens, self.memory_channels)

    @staticmethod
    def _features(signal: torch.Tensor) -> VisualFeatures:
        return VisualFeatures(global_feat=signal.mean(1), tokens=signal)

    @staticmethod
    def _reports(data_samples: Optional[List[ReportDataSample]]) -> List[str]:
        if not data_samples or not all('gt_report' in s
                                       for s in data_samples):
            raise ValueError(
                'TextbookPretrainer encodes each sample\'s gt_report into '
                'the signal, so every data sample needs one; use '
                "TextbookDataset with pipeline=[dict(type='PackTextInputs')]"
                '.')
        return [s.gt_report for s in data_samples]

    # --------------------------------------------------------------- forward
    def forward(self,
                inputs: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: Optional[List[ReportDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss``, ``predict`` or the signal (``tensor``).

        ``inputs`` are placeholders (text-only data) and are not used.
        """
        if mode == 'loss':
            return self.loss(data_samples)
        if mode == 'predict':
            return self.predict(data_samples)
        if mode == 'tensor':
            return self.encode_signal(*self._encode(
                self._reports(data_samples)))
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, data_samples: List[ReportDataSample]
             ) -> Dict[str, torch.Tensor]:
        """Teacher-forced reconstruction loss ``{'loss_textbook': ...}``."""
        ids, lengths = self._encode(self._reports(data_samples))
        visual = self._features(self.encode_signal(ids, lengths))
        logits = self.decoder(visual, ids[:, :-1])
        return {'loss_textbook': self.loss_module(logits, ids[:, 1:])}

    @torch.no_grad()
    def predict(self, data_samples: List[ReportDataSample]
                ) -> List[ReportDataSample]:
        """Greedy-decode each sentence back from its signal.

        Sets ``pred_report`` and ``gt_reports`` (the references in the
        tokenizer's normalised form), as ``ReportGenerator.predict`` does, so
        ``ReportMetric`` scores the reconstruction.
        """
        ids, lengths = self._encode(self._reports(data_samples))
        visual = self._features(self.encode_signal(ids, lengths))
        out = greedy_decode(
            init_state=lambda: self.decoder.init_state(visual),
            step=self.decoder.step,
            batch_size=visual.batch_size,
            bos_id=self.tokenizer.bos_id,
            eos_id=self.tokenizer.eos_id,
            max_len=self.max_len - 1,
            device=ids.device)
        texts = self.tokenizer.batch_decode(out.tolist())
        for sample, text in zip(data_samples, texts):
            sample.set_pred_report(text)
            sample.gt_reports = [
                self.tokenizer.detokenize_reference(r)
                for r in sample.references
            ]
        return data_samples


def load_decoder_from(checkpoint: Union[str, os.PathLike],
                      model: nn.Module,
                      prefix: str = 'decoder.',
                      check_vocab: bool = True) -> List[str]:
    """Load a stage-1 decoder into ``model.decoder`` (strictly).

    The checkpoint is read with :func:`safe_load_checkpoint`. Its vocabulary
    (``vocab._extra_state``, saved by :class:`TextbookPretrainer` and
    :class:`ReportGenerator`) must equal ``model``'s, and its ``prefix`` keys
    must match ``model.decoder``'s state dict key by key and shape by shape.

    Args:
        checkpoint (str | PathLike): The stage-1 checkpoint file.
        model (nn.Module): A model with a ``decoder`` (and a ``vocab`` to
            check), e.g. a :class:`ReportGenerator`.
        prefix (str): Prefix of the decoder keys in the checkpoint.
            Defaults to ``'decoder.'``.
        check_vocab (bool): Refuse a checkpoint without a vocabulary or with
            another one. Defaults to True.

    Returns:
        list[str]: The decoder keys loaded.

    Raises:
        CheckpointError: If the checkpoint has no such keys, lacks the
            vocabulary, or does not fit the decoder.
        VocabularyMismatchError: If the vocabularies differ.
    """
    source = str(checkpoint)
    if is_model_wrapper(model):
        model = model.module
    decoder = getattr(model, 'decoder', None)
    if not isinstance(decoder, nn.Module):
        raise TypeError(f'load_decoder_from: {type(model).__name__} has no '
                        '`decoder` module to load into.')
    ckpt = safe_load_checkpoint(source)
    state = ckpt.get('state_dict', ckpt)
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    if check_vocab:
        tokenizer = getattr(getattr(model, 'vocab', None), 'tokenizer', None)
        if VOCAB_KEY not in state or tokenizer is None:
            where = 'the checkpoint' if VOCAB_KEY not in state else 'model'
            raise CheckpointError(
                f'Cannot check the vocabulary of {source!r}: {where} has '
                f'none ({VOCAB_KEY!r}). Decoder weights are only meaningful '
                'with the vocabulary they were trained with; pass '
                'check_vocab=False only if you know they match.')
        tokenizer.check_compatible(state[VOCAB_KEY], source=source)
    weights = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix)}
    if not weights:
        raise CheckpointError(
            f'Checkpoint {source!r} has no {prefix!r} keys (it has e.g. '
            f'{list(state)[:3]}); give a TextbookPretrainer checkpoint.')
    own = decoder.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    bad = [f'{k}: checkpoint {tuple(weights[k].shape)} vs model '
           f'{tuple(own[k].shape)}' for k in own
           if k in weights and isinstance(own[k], torch.Tensor)
           and weights[k].shape != own[k].shape]
    if missing or unexpected or bad:
        raise CheckpointError(
            f'The {prefix!r} weights of {source!r} do not fit this '
            f'{type(decoder).__name__}: missing {missing[:3]}, unexpected '
            f'{unexpected[:3]}, other shapes {bad[:3]}. Use the same decoder '
            'config (d_model, layers, max_len, word_vectors ...) as in '
            'stage 1.')
    decoder.load_state_dict(weights, strict=True)
    print_log(f'Loaded {len(weights)} decoder tensors from {source}.',
              logger='current')
    return sorted(weights)
