# Copyright (c) rrgkit contributors. All rights reserved.
"""Vocabulary building, format, hashing, file I/O and compatibility checks.

The helpers here work on plain token sequences and state dicts, so that
:class:`~.report_tokenizer.ReportTokenizer` only has to deal with text. A
vocabulary state dict (format ``rrgkit-vocab-v1``) holds the tokens and the
settings in :data:`STATE_KEYS`; it is saved as UTF-8 JSON in the work dir and
in every checkpoint.
"""
import hashlib
import json
import os
from pathlib import Path
from collections import Counter
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Sequence,
                    Tuple, Union)

from rrgkit.utils.fileio import atomic_write_json

__all__ = [
    'SPECIAL_TOKENS', 'PAD_ID', 'BOS_ID', 'EOS_ID', 'UNK_ID', 'VOCAB_FORMAT',
    'STATE_KEYS', 'FIX_HINT', 'VocabularyMismatchError', 'check_settings',
    'tokenization_settings', 'settings_diff', 'vocab_hash',
    'tokens_from_reports', 'index_tokens', 'validated_state',
    'read_vocab_file', 'write_vocab_file', 'check_state_settings',
    'check_vocab_match'
]

SPECIAL_TOKENS = ('<pad>', '<bos>', '<eos>', '<unk>')
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
VOCAB_FORMAT = 'rrgkit-vocab-v1'
STATE_KEYS = ('language', 'zh_mode', 'lowercase', 'min_freq', 'max_len',
              'tokens')
FIX_HINT = ('What to do: test/inference with the vocabulary stored in the '
            'checkpoint: rrgkit does this automatically in tools/test.py; or '
            'rebuild the vocabulary with the same data and min_freq.')


class VocabularyMismatchError(ValueError):
    """Two vocabularies (or their tokenization settings) differ."""


def check_settings(language: Any, zh_mode: Any, min_freq: Any,
                   max_len: Any) -> None:
    """Validate the tokenizer settings.

    Args:
        language (Any): Must be ``'en'`` or ``'zh'``.
        zh_mode (Any): Must be ``'char'`` or ``'jieba'``.
        min_freq (Any): Must be an int >= 1.
        max_len (Any): Must be None or an int >= 2.

    Raises:
        ValueError: Naming the first invalid setting.
    """
    if language not in ('en', 'zh'):
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    if zh_mode not in ('char', 'jieba'):
        raise ValueError(
            f"zh_mode must be 'char' or 'jieba', got {zh_mode!r}")
    if isinstance(min_freq, bool) or not isinstance(min_freq, int) \
            or min_freq < 1:
        raise ValueError(f'min_freq must be an int >= 1, got {min_freq!r}')
    if max_len is not None and (isinstance(max_len, bool)
                                or not isinstance(max_len, int)
                                or max_len < 2):
        raise ValueError(
            f'max_len must be None or an int >= 2 (room for <bos> and '
            f'<eos>), got {max_len!r}')


def tokenization_settings(language: str, zh_mode: str,
                          lowercase: bool) -> Dict[str, Any]:
    """Settings that change tokenization (compared and hashed).

    Args:
        language (str): ``'en'`` or ``'zh'``.
        zh_mode (str): Chinese unit; only kept for ``'zh'``.
        lowercase (bool): Whether Latin text is lowercased.

    Returns:
        dict: ``language``, ``lowercase`` and ``zh_mode`` (None for English).
    """
    return dict(language=language, lowercase=lowercase,
                zh_mode=zh_mode if language == 'zh' else None)


def settings_diff(mine: Dict[str, Any], theirs: Dict[str, Any],
                  source: str) -> List[str]:
    """Describe each setting that differs between ``mine`` and ``theirs``.

    Args:
        mine (dict): Settings of this tokenizer.
        theirs (dict): Settings from ``source``.
        source (str): Where ``theirs`` comes from, quoted in the messages.

    Returns:
        list[str]: One ``'key=... here vs ... in source'`` per difference.
    """
    return [
        f'{key}={mine[key]!r} here vs {theirs[key]!r} in {source}'
        for key in mine if mine[key] != theirs[key]
    ]


def vocab_hash(tokens: Sequence[str], settings: Dict[str, Any]) -> str:
    """First 16 hex chars of sha256(canonical JSON of tokens+settings).

    Args:
        tokens (Sequence[str]): The tokens in id order.
        settings (dict): Output of :func:`tokenization_settings`.

    Returns:
        str: The hash.
    """
    payload = dict(format=VOCAB_FORMAT, tokens=list(tokens), **settings)
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False,
                      separators=(',', ':'))
    return hashlib.sha256(blob.encode('utf-8')).hexdigest()[:16]


def tokens_from_reports(texts: Iterable[str],
                        tokenize: Callable[[str], List[str]],
                        min_freq: int) -> List[str]:
    """Count the tokens of reports and list the frequent ones.

    Args:
        texts (Iterable[str]): The (training) reports.
        tokenize (Callable[[str], list[str]]): Splits one report.
        min_freq (int): Keep tokens seen at least this often.

    Returns:
        list[str]: The special tokens, then the kept tokens by descending
        frequency, then alphabetically.
    """
    if isinstance(texts, str):
        raise TypeError('build_vocab expects a list of reports, got one '
                        'string')
    counts, num = Counter(), 0
    for num, text in enumerate(texts, 1):
        if not isinstance(text, str):
            raise TypeError(f'build_vocab: report #{num - 1} is a '
                            f'{type(text).__name__}, expected str')
        counts.update(tokenize(text))
    if num == 0:
        raise ValueError('build_vocab got no reports; pass the training '
                         'reports (e.g. dataset.get_reports()).')
    kept = [
        t for t, c in counts.items()
        if c >= min_freq and t not in SPECIAL_TOKENS
    ]
    if not kept:
        raise ValueError(f'No token occurs at least min_freq='
                         f'{min_freq} times in the {num} reports; '
                         f'lower min_freq.')
    kept.sort(key=lambda t: (-counts[t], t))
    return list(SPECIAL_TOKENS) + kept


def index_tokens(
        tokens: List[str],
        source: str,
        strict: bool = True) -> Tuple[Tuple[str, ...], Dict[str, int]]:
    """Validate a token list and index it.

    Args:
        tokens (list[str]): The tokens, special tokens first.
        source (str): Where the tokens come from, quoted in errors.
        strict (bool): If False, the special tokens are added in front when
            none of them is present. Defaults to True.

    Returns:
        tuple[tuple[str], dict[str, int]]: The tokens and token -> id.
    """
    bad = [t for t in tokens if not isinstance(t, str) or not t]
    if bad:
        raise ValueError(f'{source}: tokens must be non-empty strings, '
                         f'got {bad[0]!r}')
    if not strict and not set(SPECIAL_TOKENS) & set(tokens):
        tokens = list(SPECIAL_TOKENS) + tokens
    if tuple(tokens[:4]) != SPECIAL_TOKENS:
        raise ValueError(f'{source}: the vocabulary must start with the '
                         f'special tokens {list(SPECIAL_TOKENS)}, got '
                         f'{tokens[:4]}')
    index = {t: i for i, t in enumerate(tokens)}
    if len(index) != len(tokens):
        dup = next(t for t in tokens if tokens.count(t) > 1)
        raise ValueError(f'{source}: token {dup!r} appears twice')
    return tuple(tokens), index


def validated_state(state: Any, source: str) -> Dict[str, Any]:
    """Check a vocabulary state dict and return a copy of it.

    Args:
        state (Any): Output of ``ReportTokenizer.state_dict()`` or a loaded
            vocabulary JSON.
        source (str): Where ``state`` comes from, quoted in errors.

    Returns:
        dict: A shallow copy of ``state``.
    """
    if not isinstance(state, Mapping):
        raise ValueError(f'{source}: expected a vocabulary object written by '
                         f'ReportTokenizer.save()/state_dict(), got '
                         f'{type(state).__name__}')
    if state.get('format') != VOCAB_FORMAT:
        raise ValueError(f'{source}: vocabulary format is '
                         f'{state.get("format")!r}, expected {VOCAB_FORMAT!r}'
                         f'; it was not written by ReportTokenizer.save().')
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f'{source}: missing key(s) {missing}; the file is '
                         f'incomplete, rebuild the vocabulary.')
    if not isinstance(state['tokens'], list):
        raise ValueError(f'{source}: "tokens" must be a list')
    try:
        check_settings(state['language'], state['zh_mode'],
                       state['min_freq'], state['max_len'])
    except ValueError as err:
        raise ValueError(f'{source}: {err}') from None
    if not isinstance(state['lowercase'], bool):
        raise ValueError(f'{source}: "lowercase" must be true or false')
    return dict(state)


def read_vocab_file(path: Union[str, os.PathLike]) -> Dict[str, Any]:
    """Read a vocabulary JSON (not yet validated).

    Args:
        path (str | PathLike): The file written by ``ReportTokenizer.save``.

    Returns:
        dict: The decoded JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f'Vocabulary file {path} does not exist. Build it with '
            f'ReportTokenizer(...).build_vocab(train_reports).save(path), or '
            f'use the vocabulary stored in the checkpoint.')
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(
            f'Vocabulary file {path} is not valid UTF-8 JSON ({err}); it may '
            f'be truncated or corrupt: delete it and rebuild the vocabulary, '
            f'or use the one stored in the checkpoint.') from None


def write_vocab_file(state: Mapping[str, Any],
                     path: Union[str, os.PathLike]) -> str:
    """Write ``state`` as UTF-8 JSON, atomically (temp file + os.replace).

    Args:
        state (Mapping): The vocabulary state dict.
        path (str | PathLike): Destination; parent folders are created.

    Returns:
        str: The path written.
    """
    return atomic_write_json(dict(state), path)


def check_state_settings(settings: Dict[str, Any], state: Mapping[str, Any],
                         source: str) -> None:
    """Raise unless a validated ``state`` has the given tokenizer settings.

    Args:
        settings (dict): The tokenizer's :func:`tokenization_settings`.
        state (Mapping): A state dict checked by :func:`validated_state`.
        source (str): Where ``state`` comes from, quoted in the error.

    Raises:
        VocabularyMismatchError: If a setting differs.
    """
    diffs = settings_diff(
        settings,
        tokenization_settings(state['language'], state['zh_mode'],
                              state['lowercase']), source)
    if diffs:
        raise VocabularyMismatchError(
            f'{source} does not match the tokenizer config: '
            f'{"; ".join(diffs)}. Make the config match it, or rebuild '
            f'the vocabulary.')


def check_vocab_match(mine: Sequence[str], my_settings: Dict[str, Any],
                      theirs: Sequence[str], their_settings: Dict[str, Any],
                      source: str) -> None:
    """Raise unless two vocabularies and their settings are identical.

    Args:
        mine (Sequence[str]): This tokenizer's tokens in id order.
        my_settings (dict): This tokenizer's settings.
        theirs (Sequence[str]): The other tokens in id order.
        their_settings (dict): The other settings.
        source (str): Where the other vocabulary comes from, quoted in the
            error.

    Raises:
        VocabularyMismatchError: Naming the differing settings and the first
            differing token.
    """
    mine, theirs = tuple(mine), tuple(theirs)
    diffs = settings_diff(my_settings, their_settings, source)
    if mine != theirs:
        pos = next((i for i, (a, b) in enumerate(zip(mine, theirs))
                    if a != b), min(len(mine), len(theirs)))
        a = repr(mine[pos]) if pos < len(mine) else '(end)'
        b = repr(theirs[pos]) if pos < len(theirs) else '(end)'
        diffs.append(f'first differing token at position {pos}: {a} '
                     f'here vs {b} in {source}')
    if diffs:
        my_hash = vocab_hash(mine, my_settings)
        their_hash = vocab_hash(theirs, their_settings)
        raise VocabularyMismatchError(
            f'Vocabulary mismatch with {source}: this tokenizer has '
            f'{len(mine)} tokens (hash {my_hash}), {source} has '
            f'{len(theirs)} tokens (hash {their_hash}); '
            f'{"; ".join(diffs)}. {FIX_HINT}')
