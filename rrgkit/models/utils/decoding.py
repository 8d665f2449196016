# Copyright (c) rrgkit contributors. All rights reserved.
"""Greedy, sampled and batched beam-search decoding for any rrgkit decoder.

A decoder takes part in decoding through two methods:

* ``init_state(visual) -> state``: the state before the first word, a
  (nested) dict/tuple of tensors whose first dimension is the batch;
* ``step(tokens, state) -> (log_probs, state)``: one step, ``tokens`` of
  shape ``(B,)``, ``log_probs`` of shape ``(B, vocab_size)``.

Beam search reorders the state with :func:`index_state`, so decoders never
need to know about beams. The decoding controls (n-gram blocking, minimum
length, sampling filters) act on each step's log-probs through
:mod:`rrgkit.models.utils.logits_processors`; a generator's options are one
``decode_cfg`` dict, checked by :func:`resolve_decode_cfg` and passed to
:func:`decode`. See ``docs/decoding.md``.
"""
import difflib
import logging
from typing import Any, Callable, Optional

import torch
from mmengine.logging import print_log

from .logits_processors import make_processor

__all__ = [
    'DECODE_DEFAULTS', 'DecodingConfigError', 'index_state', 'greedy_decode',
    'beam_search', 'decode', 'resolve_decode_cfg', 'sampling_generator'
]

#: Every decoding option and its default (today's greedy decoding).
DECODE_DEFAULTS = dict(
    beam_size=1,
    length_penalty=0.0,
    no_repeat_ngram_size=0,
    min_length=0,
    do_sample=False,
    temperature=1.0,
    top_k=0,
    top_p=1.0,
    seed=None)
_SAMPLING_ONLY = ('temperature', 'top_k', 'top_p', 'seed')


class DecodingConfigError(ValueError):
    """A decoding option that does not exist or has a bad value."""


def index_state(state: Any, index: torch.Tensor) -> Any:
    """Select batch rows of every tensor in a nested state.

    Args:
        state (Any): Tensors, or dicts/lists/tuples of them (``None`` and
            non-tensor leaves are kept as they are).
        index (Tensor): ``(B',)`` row indices.

    Returns:
        Any: The state with the same structure, rows selected.
    """
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {k: index_state(v, index) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(index_state(v, index) for v in state)
    return state


@torch.no_grad()
def greedy_decode(init_state: Callable,
                  step: Callable,
                  batch_size: int,
                  bos_id: int,
                  eos_id: int,
                  max_len: int,
                  device: torch.device,
                  no_repeat_ngram_size: int = 0,
                  min_length: int = 0,
                  do_sample: bool = False,
                  temperature: float = 1.0,
                  top_k: int = 0,
                  top_p: float = 1.0,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Pick the most likely word at every step, or sample it.

    Args:
        init_state (Callable): ``() -> state`` for the batch.
        step (Callable): The decoder's ``step``.
        batch_size (int): ``B``.
        bos_id (int): Begin-of-sequence id fed first.
        eos_id (int): End-of-sequence id.
        max_len (int): Maximum number of generated tokens.
        device (torch.device): Device of the token tensors.
        no_repeat_ngram_size (int): Never repeat an n-gram of this size;
            0 allows repeats. Defaults to 0.
        min_length (int): Tokens generated before ``<eos>`` is allowed.
            Defaults to 0.
        do_sample (bool): Sample each word instead of taking the most
            likely one. Defaults to False.
        temperature (float): Sampling temperature. Defaults to 1.
        top_k (int): Sample among the ``k`` most likely words; 0 for all.
            Defaults to 0.
        top_p (float): Nucleus sampling mass; 1 for all. Defaults to 1.
        generator (torch.Generator, optional): Random numbers for sampling
            (on ``device``); None uses torch's global generator.
            Defaults to None.

    Returns:
        Tensor: ``(B, L)`` generated ids (``L <= max_len``), rows that ended
        early are padded with ``eos_id``.
    """
    warp = dict(temperature=temperature, top_k=top_k,
                top_p=top_p) if do_sample else {}
    process = make_processor(eos_id, no_repeat_ngram_size, min_length, **warp)
    state = init_state()
    tokens = torch.full((batch_size, ), bos_id, dtype=torch.long,
                        device=device)
    seqs = torch.empty((batch_size, 0), dtype=torch.long, device=device)
    finished = torch.zeros(batch_size, dtype=torch.bool, device=device)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        if process is not None:
            log_probs = process(log_probs, seqs)
        if do_sample:
            tokens = torch.multinomial(
                log_probs.float().softmax(-1), 1,
                generator=generator).squeeze(1)
        else:
            tokens = log_probs.argmax(-1)
        tokens = tokens.masked_fill(finished, eos_id)
        seqs = torch.cat([seqs, tokens[:, None]], 1)
        finished |= tokens == eos_id
        if bool(finished.all()):
            break
    return seqs


@torch.no_grad()
def beam_search(init_state: Callable,
                step: Callable,
                batch_size: int,
                bos_id: int,
                eos_id: int,
                max_len: int,
                device: torch.device,
                beam_size: int = 3,
                length_penalty: float = 0.0,
                no_repeat_ngram_size: int = 0,
                min_length: int = 0) -> torch.Tensor:
    """Beam search, batched over images and beams.

    All ``B * K`` hypotheses advance in one ``step`` call. A finished
    hypothesis keeps its score and only extends with ``eos``. The final
    choice divides each score by ``length ** length_penalty`` (``length``
    counts the tokens up to and including the first ``eos``).

    Args:
        init_state (Callable): ``() -> state`` for the batch of ``B``.
        step (Callable): The decoder's ``step``.
        batch_size (int): ``B``.
        bos_id (int): Begin-of-sequence id fed first.
        eos_id (int): End-of-sequence id.
        max_len (int): Maximum number of generated tokens.
        device (torch.device): Device of the token tensors.
        beam_size (int): ``K``. Defaults to 3.
        length_penalty (float): Exponent of the length normalisation;
            0 ranks by total log-probability. Defaults to 0.
        no_repeat_ngram_size (int): No hypothesis repeats an n-gram of this
            size; 0 allows repeats. Defaults to 0.
        min_length (int): Tokens generated before ``<eos>`` is allowed.
            Defaults to 0.

    Returns:
        Tensor: ``(B, L)`` ids of the best hypothesis per image.
    """
    process = make_processor(eos_id, no_repeat_ngram_size, min_length)
    B, K = batch_size, beam_size
    state = index_state(init_state(),
                        torch.arange(B, device=device).repeat_interleave(K))
    tokens = torch.full((B * K, ), bos_id, dtype=torch.long, device=device)
    scores = torch.full((B, K), float('-inf'), device=device)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    seqs = torch.empty((B * K, 0), dtype=torch.long, device=device)
    finished = torch.zeros(B * K, dtype=torch.bool, device=device)
    offsets = (torch.arange(B, device=device) * K).unsqueeze(1)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        log_probs = log_probs.float()
        if process is not None:
            log_probs = process(log_probs, seqs)
        V = log_probs.shape[-1]
        if bool(finished.any()):
            done = torch.full_like(log_probs[0], float('-inf'))
            done[eos_id] = 0.0
            log_probs = torch.where(finished.unsqueeze(1), done, log_probs)
        cand = (scores.view(-1, 1) + log_probs).view(B, K * V)
        scores, flat_idx = cand.topk(K, dim=1)
        beam_idx = torch.div(flat_idx, V, rounding_mode='floor')
        tokens = (flat_idx % V).view(-1)
        rows = (offsets + beam_idx).view(-1)
        state = index_state(state, rows)
        seqs = torch.cat([seqs.index_select(0, rows), tokens[:, None]], 1)
        finished = finished.index_select(0, rows) | (tokens == eos_id)
        if bool(finished.all()):
            break
    # Length = tokens up to and including the first eos.
    is_eos = seqs == eos_id
    first_eos = torch.where(is_eos.any(1), is_eos.float().argmax(1),
                            torch.full_like(is_eos[:, 0], seqs.shape[1] - 1,
                                            dtype=torch.long))
    lengths = (first_eos + 1).float().view(B, K)
    ranked = scores / lengths.pow(length_penalty)
    best = ranked.argmax(1)
    return seqs.index_select(0, (offsets.squeeze(1) + best))


def decode(init_state: Callable,
           step: Callable,
           batch_size: int,
           bos_id: int,
           eos_id: int,
           max_len: int,
           device: torch.device,
           beam_size: int = 1,
           length_penalty: float = 0.0,
           no_repeat_ngram_size: int = 0,
           min_length: int = 0,
           do_sample: bool = False,
           temperature: float = 1.0,
           top_k: int = 0,
           top_p: float = 1.0,
           generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Beam search when ``beam_size > 1``, else greedy decoding/sampling.

    The arguments are those of :func:`greedy_decode` and
    :func:`beam_search`; a generator passes its :func:`resolve_decode_cfg`
    options (with ``seed`` turned into ``generator``).

    Returns:
        Tensor: ``(B, L)`` generated ids.
    """
    common = dict(
        init_state=init_state, step=step, batch_size=batch_size,
        bos_id=bos_id, eos_id=eos_id, max_len=max_len, device=device,
        no_repeat_ngram_size=no_repeat_ngram_size, min_length=min_length)
    if beam_size > 1:
        if do_sample:
            raise DecodingConfigError(
                f'do_sample=True works with beam_size=1, got {beam_size}')
        return beam_search(
            beam_size=beam_size, length_penalty=length_penalty, **common)
    return greedy_decode(
        do_sample=do_sample, temperature=temperature, top_k=top_k,
        top_p=top_p, generator=generator, **common)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_CHECKS = dict(
    beam_size=(lambda v: _is_int(v) and v >= 1, 'an int >= 1'),
    length_penalty=(_is_number, 'a number'),
    no_repeat_ngram_size=(lambda v: _is_int(v) and v >= 0,
                          'an int >= 0 (0 = off)'),
    min_length=(lambda v: _is_int(v) and v >= 0, 'an int >= 0'),
    do_sample=(lambda v: isinstance(v, bool), 'True or False'),
    temperature=(lambda v: _is_number(v) and v > 0, 'a number > 0'),
    top_k=(lambda v: _is_int(v) and v >= 0, 'an int >= 0 (0 = off)'),
    top_p=(lambda v: _is_number(v) and 0 < v <= 1,
           'a number in (0, 1] (1 = off)'),
    seed=(lambda v: v is None or _is_int(v), 'an int or None'))


def resolve_decode_cfg(decode_cfg: Optional[dict] = None,
                       where: str = 'model.decode_cfg',
                       warn: bool = True,
                       **base) -> dict:
    """Check a ``decode_cfg`` and fill in every option.

    Args:
        decode_cfg (dict, optional): Options to set, keys of
            :data:`DECODE_DEFAULTS`. Defaults to None (all defaults).
        where (str): Key path of ``decode_cfg`` in the config, for messages.
            Defaults to ``'model.decode_cfg'``.
        warn (bool): Log a warning for sampling options set while
            ``do_sample`` is off. Defaults to True.
        **base: Values that replace the defaults but yield to
            ``decode_cfg`` (a generator's ``beam_size`` and
            ``length_penalty`` arguments).

    Returns:
        dict: Every key of :data:`DECODE_DEFAULTS`.

    Raises:
        DecodingConfigError: For an unknown key (naming it and the closest
            option), a bad value, or sampling combined with beam search.
    """
    if decode_cfg is None:
        decode_cfg = {}
    if not isinstance(decode_cfg, dict):
        raise DecodingConfigError(
            f'{where} must be a dict of decoding options, got '
            f'{decode_cfg!r}; see docs/decoding.md.')
    problems = []
    for key, value in decode_cfg.items():
        if key not in DECODE_DEFAULTS:
            close = difflib.get_close_matches(str(key), DECODE_DEFAULTS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ''
            problems.append(f'unknown option {where}.{key}{hint}')
        elif not _CHECKS[key][0](value):
            problems.append(f'{where}.{key} must be {_CHECKS[key][1]}, got '
                            f'{value!r}')
    if problems:
        raise DecodingConfigError(
            '; '.join(problems) + '. Decoding options: ' +
            ', '.join(DECODE_DEFAULTS) + ' (docs/decoding.md).')
    opts = {**DECODE_DEFAULTS, **base, **decode_cfg}
    if opts['do_sample'] and opts['beam_size'] > 1:
        raise DecodingConfigError(
            f'{where}.do_sample=True samples one report per image and needs '
            f"beam_size=1, but beam_size={opts['beam_size']}; set "
            f'{where}.beam_size=1.')
    unused = [k for k in _SAMPLING_ONLY if k in decode_cfg
              and decode_cfg[k] != DECODE_DEFAULTS[k]]
    if warn and unused and not opts['do_sample']:
        print_log(f'{where}: {", ".join(unused)} act only with '
                  'do_sample=True, which is off; they are ignored.',
                  logger='current', level=logging.WARNING)
    return opts


def sampling_generator(
        seed: Optional[int], device: torch.device,
        current: Optional[torch.Generator] = None
) -> Optional[torch.Generator]:
    """A seeded ``torch.Generator`` on ``device``, kept across calls.

    Args:
        seed (int, optional): None for torch's global generator.
        device (torch.device): Where sampling runs.
        current (torch.Generator, optional): The generator of a previous
            call; reused while it is on ``device``. Defaults to None.

    Returns:
        torch.Generator | None: ``current``, a new generator seeded with
        ``seed``, or None when ``seed`` is None.
    """
    if seed is None:
        return None
    device = torch.device(device)
    if current is not None and current.device == device:
        return current
    return torch.Generator(device=device).manual_seed(seed)
