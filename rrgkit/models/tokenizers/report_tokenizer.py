# Copyright (c) rrgkit contributors. All rights reserved.
"""Report vocabulary: text <-> token ids for report generators.

The vocabulary is built from the training reports (``build_vocab``), saved as
JSON in the work dir and in every checkpoint (``state_dict``), and reloaded
from there for test and inference. ``check_compatible`` turns a vocabulary
mismatch into a clear :class:`VocabularyMismatchError`.

Generated reports (``decode``) and references (``detokenize_reference``) are
both in the normalised form of :mod:`.text_cleaning`: English words joined by
spaces (``'the heart is normal .'``), Chinese tokens joined without spaces
(``'胸廓对称，纵隔心影居中。'``). Metrics re-tokenize this form for scoring.
The vocabulary format, hashing, files and checks live in :mod:`.vocab_io`,
the id-sequence helpers in :mod:`.sequences`.
"""
import contextlib
import os
from collections import OrderedDict
from types import MappingProxyType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import torch

from rrgkit.registry import TOKENIZERS
from .sequences import ids_to_tokens, pad_id_sequences, tokens_to_ids
from .text_cleaning import (clean_report_en, clean_report_zh, split_zh_chars,
                            split_zh_jieba)
from .vocab_io import (BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID,
                       VOCAB_FORMAT, VocabularyMismatchError,
                       check_settings, check_state_settings,
                       check_vocab_match, index_tokens, read_vocab_file,
                       tokenization_settings, tokens_from_reports,
                       validated_state, vocab_hash, write_vocab_file)

# The vocab_io names in __all__ are re-exported for older imports.
__all__ = [
    'SPECIAL_TOKENS', 'VOCAB_FORMAT', 'VocabularyMismatchError',
    'ReportTokenizer'
]

_NOT_BUILT = ('ReportTokenizer has no vocabulary yet: call '
              'build_vocab(training_reports) or pass vocab= (a token list, a '
              'state dict or a vocabulary JSON written by save()).')

VocabSource = Union[str, os.PathLike, List[str], Mapping[str, Any]]


@TOKENIZERS.register_module()
class ReportTokenizer:
    """Word (English) or character/word (Chinese) report tokenizer.

    Special tokens are ``<pad>``=0, ``<bos>``=1, ``<eos>``=2, ``<unk>``=3,
    followed by the corpus tokens by descending frequency, then
    alphabetically. Tokenisation results are cached (``cache_size`` most
    recent strings), since models re-tokenize the references every step.

    Args:
        language (str): ``'en'`` (words) or ``'zh'``. Defaults to ``'en'``.
        zh_mode (str): Chinese unit, ``'char'`` or ``'jieba'`` words.
            Ignored for English. Defaults to ``'char'``.
        min_freq (int): Keep tokens seen at least this often in
            ``build_vocab``. Defaults to 1.
        max_len (int, optional): Default maximum encoded length, including
            ``<bos>``/``<eos>``. Defaults to None (no limit).
        lowercase (bool): Lowercase (Latin) text. Defaults to True.
        vocab (str | PathLike | list[str] | dict, optional): A vocabulary
            JSON written by :meth:`save`, a :meth:`state_dict`, or a token
            list (special tokens first; added in front if absent). A file or
            state must have the same language/zh_mode/lowercase as given
            here (else :class:`VocabularyMismatchError`); its min_freq, and
            its max_len when ``max_len`` is None, are adopted. Defaults to
            None (call :meth:`build_vocab`).
    """

    cache_size = 16384

    def __init__(self,
                 language: str = 'en',
                 zh_mode: str = 'char',
                 min_freq: int = 1,
                 max_len: Optional[int] = None,
                 lowercase: bool = True,
                 vocab: Optional[VocabSource] = None) -> None:
        check_settings(language, zh_mode, min_freq, max_len)
        self.language, self.zh_mode = language, zh_mode
        self.min_freq, self.max_len = min_freq, max_len
        self.lowercase = bool(lowercase)
        self._tokens: Optional[Tuple[str, ...]] = None
        self._token_to_id: Dict[str, int] = {}
        self._hash: Optional[str] = None
        self._cache: 'OrderedDict[str, Tuple[str, ...]]' = OrderedDict()
        if vocab is None:
            return
        if isinstance(vocab, (str, os.PathLike)):
            self._adopt(read_vocab_file(vocab), f'vocabulary file {vocab}')
        elif isinstance(vocab, Mapping):
            self._adopt(vocab, 'the vocab= state dict')
        else:
            self._set_tokens(list(vocab), 'the vocab= list', strict=False)

    # ------------------------------------------------------------ text
    def clean(self, text: str) -> str:
        """Normalise a report (see :mod:`.text_cleaning`)."""
        if self.language == 'en':
            return clean_report_en(text, self.lowercase)
        return clean_report_zh(text, self.lowercase)

    def tokenize(self, text: str) -> List[str]:
        """Clean ``text`` and split it into tokens (cached)."""
        if not isinstance(text, str):
            raise TypeError(
                f'expected a report string, got {type(text).__name__}')
        cached = self._cache.get(text)
        if cached is None:
            cleaned = self.clean(text)
            if self.language == 'en':
                cached = tuple(cleaned.split())
            elif self.zh_mode == 'char':
                cached = tuple(split_zh_chars(cleaned))
            else:
                cached = tuple(split_zh_jieba(cleaned))
            self._cache[text] = cached
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            with contextlib.suppress(KeyError):
                self._cache.move_to_end(text)
        return list(cached)

    def _join(self, tokens: Iterable[str]) -> str:
        return (' ' if self.language == 'en' else '').join(tokens)

    def join_texts(self, parts: Iterable[str]) -> str:
        """Join normalised texts as this language writes them (English
        with spaces, Chinese without)."""
        return self._join(parts)

    def detokenize_reference(self, text: str) -> str:
        """Normalised form of a reference, unknown words kept as they are.

        Equals ``decode(encode(text))`` when every token is in the
        vocabulary. References are scored in this form.
        """
        return self._join(self.tokenize(text))

    # ------------------------------------------------------- vocabulary
    def build_vocab(self,
                    texts: Iterable[str],
                    min_freq: Optional[int] = None) -> 'ReportTokenizer':
        """Build the vocabulary from (training) reports.

        Args:
            texts (Iterable[str]): The reports.
            min_freq (int, optional): Overrides ``self.min_freq`` (and is
                stored). Defaults to None.

        Returns:
            ReportTokenizer: ``self``.
        """
        if min_freq is not None:
            check_settings(self.language, self.zh_mode, min_freq,
                           self.max_len)
            self.min_freq = min_freq
        tokens = tokens_from_reports(texts, self.tokenize, self.min_freq)
        self._set_tokens(tokens, 'build_vocab')
        return self

    def _set_tokens(self, tokens: List[str], source: str,
                    strict: bool = True) -> None:
        self._tokens, self._token_to_id = index_tokens(tokens, source, strict)
        self._hash = None

    def _require_vocab(self) -> Tuple[str, ...]:
        if self._tokens is None:
            raise RuntimeError(_NOT_BUILT)
        return self._tokens

    @property
    def is_built(self) -> bool:
        """Whether the vocabulary exists."""
        return self._tokens is not None

    @property
    def vocab(self) -> List[str]:
        """The tokens in id order (a copy)."""
        return list(self._require_vocab())

    @property
    def vocab_size(self) -> int:
        """Number of tokens, specials included."""
        return len(self._require_vocab())

    def __len__(self) -> int:
        return self.vocab_size

    def __bool__(self) -> bool:
        return True  # not len(): an unbuilt tokenizer is still truthy

    @property
    def token_to_id(self) -> Mapping[str, int]:
        """Read-only token -> id mapping."""
        self._require_vocab()
        return MappingProxyType(self._token_to_id)

    pad_id = property(lambda self: PAD_ID, doc='Id of ``<pad>`` (0).')
    bos_id = property(lambda self: BOS_ID, doc='Id of ``<bos>`` (1).')
    eos_id = property(lambda self: EOS_ID, doc='Id of ``<eos>`` (2).')
    unk_id = property(lambda self: UNK_ID, doc='Id of ``<unk>`` (3).')

    def _settings(self) -> Dict[str, Any]:
        return tokenization_settings(self.language, self.zh_mode,
                                     self.lowercase)

    @property
    def vocab_hash(self) -> str:
        """First 16 hex chars of sha256(canonical JSON of tokens+settings).

        ``min_freq`` and ``max_len`` are not part of it: they do not change
        what an id means.
        """
        if self._hash is None:
            self._hash = vocab_hash(self.vocab, self._settings())
        return self._hash

    def __repr__(self) -> str:
        size = (f'vocab_size={len(self._tokens)}, hash={self.vocab_hash}'
                if self.is_built else 'vocab=unbuilt')
        return (f'{type(self).__name__}(language={self.language!r}, '
                f'zh_mode={self.zh_mode!r}, {size})')

    # ------------------------------------------------- encode / decode
    def encode(self,
               text: str,
               add_special: bool = True,
               max_len: Optional[int] = None) -> List[int]:
        """Turn a report into ids: ``<bos> ... <eos>``, unknown -> ``<unk>``.

        Args:
            text (str): The report.
            add_special (bool): Add ``<bos>``/``<eos>``. Defaults to True.
            max_len (int, optional): Maximum length including specials;
                a truncated sequence still ends with ``<eos>``. Defaults to
                None (``self.max_len``).

        Returns:
            list[int]: The ids.
        """
        self._require_vocab()
        limit = self.max_len if max_len is None else max_len
        return tokens_to_ids(
            self.tokenize(text), self._token_to_id, add_special, limit)

    def batch_encode(
            self,
            texts: Iterable[str],
            max_len: Optional[int] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode reports into a ``pad_id``-padded ``LongTensor [B, T]``.

        Returns:
            tuple[Tensor, Tensor]: The ids ``[B, T]`` (T = longest) and the
            lengths ``[B]`` (specials included).
        """
        if isinstance(texts, str):
            raise TypeError('batch_encode expects a list of reports, got one '
                            'string; use encode()')
        return pad_id_sequences(
            [self.encode(t, max_len=max_len) for t in texts])

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Turn ids back into normalised text.

        Args:
            ids (Iterable[int] | Tensor): One sequence of ids.
            skip_special (bool): Stop at the first ``<eos>`` and skip
                ``<pad>``/``<bos>`` (``<unk>`` stays visible). If False,
                every id is rendered. Defaults to True.

        Returns:
            str: English words joined by ``' '``, Chinese tokens by ``''``.
        """
        tokens = self._require_vocab()
        return self._join(ids_to_tokens(ids, tokens, skip_special))

    def batch_decode(self, batch: Iterable[Iterable[int]],
                     skip_special: bool = True) -> List[str]:
        """Decode a batch (a ``[B, T]`` tensor or a list of sequences)."""
        if isinstance(batch, torch.Tensor) and batch.dim() != 2:
            raise ValueError(f'batch_decode expects a [B, T] tensor, got '
                             f'shape {tuple(batch.shape)}')
        return [self.decode(seq, skip_special) for seq in batch]

    # -------------------------------------------------- persistence
    def state_dict(self) -> Dict[str, Any]:
        """JSON-able vocabulary and settings (format ``rrgkit-vocab-v1``)."""
        return dict(format=VOCAB_FORMAT, language=self.language,
                    zh_mode=self.zh_mode, lowercase=self.lowercase,
                    min_freq=self.min_freq, max_len=self.max_len,
                    tokens=self.vocab)

    def load_state_dict(self, state: Mapping[str, Any],
                        source: str = 'the state dict') -> None:
        """Replace vocabulary and settings with those of ``state``."""
        state = validated_state(state, source)
        self._set_tokens(list(state['tokens']), source)
        self.language, self.zh_mode = state['language'], state['zh_mode']
        self.min_freq, self.max_len = state['min_freq'], state['max_len']
        self.lowercase = state['lowercase']
        self._cache.clear()

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any],
                        source: str = 'the state dict') -> 'ReportTokenizer':
        """Build a tokenizer from :meth:`state_dict` output."""
        tokenizer = cls()
        tokenizer.load_state_dict(state, source)
        return tokenizer

    def save(self, path: Union[str, os.PathLike]) -> str:
        """Write :meth:`state_dict` as UTF-8 JSON, atomically.

        Returns:
            str: The path written.
        """
        return write_vocab_file(self.state_dict(), path)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike]) -> 'ReportTokenizer':
        """Load a vocabulary JSON written by :meth:`save`."""
        return cls.from_state_dict(
            read_vocab_file(path), f'vocabulary file {path}')

    def _adopt(self, state: Mapping[str, Any], source: str) -> None:
        """Load ``state`` after checking it matches the constructor args."""
        state = validated_state(state, source)
        check_state_settings(self._settings(), state, source)
        self._set_tokens(list(state['tokens']), source)
        self.min_freq = state['min_freq']
        if self.max_len is None:
            self.max_len = state['max_len']

    def check_compatible(self, other: Union['ReportTokenizer', VocabSource],
                         source: str) -> None:
        """Raise :class:`VocabularyMismatchError` unless ``other`` matches.

        Args:
            other (ReportTokenizer | dict | str): Another tokenizer, a
                :meth:`state_dict` (e.g. from a checkpoint) or a vocab file.
            source (str): Where ``other`` comes from (e.g. a checkpoint
                path), quoted in the error.
        """
        mine = self._require_vocab()
        if isinstance(other, (str, os.PathLike)):
            other = ReportTokenizer.from_file(other)
        elif isinstance(other, Mapping):
            other = ReportTokenizer.from_state_dict(other, source)
        check_vocab_match(mine, self._settings(), other._require_vocab(),
                          other._settings(), source)

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state['_cache'] = OrderedDict()  # keep pickles/deepcopies small
        return state

