# Copyright (c) rrgkit contributors. All rights reserved.
"""Normalisation of English and Chinese radiology reports.

Both languages are first NFKC-normalised, which turns full-width letters,
digits and punctuation (``Ａ１，；：！？``) into their half-width forms.

English (word level, in the spirit of R2Gen's IU X-ray cleaning):

* optional lowercasing; newlines and runs of whitespace become one space;
* sentences are split on ``.`` (a ``.`` between two digits, as in ``3.5``,
  is a decimal point and is kept);
* every character that is not a letter, a digit or whitespace is removed
  (replaced by a space, so ``heart,lungs`` gives two words), except hyphens
  inside a word: ``ground-glass`` and ``low-density`` stay single tokens;
* empty sentences are dropped, and sentences are joined with ``' . '`` and
  end with ``' .'``, so ``.`` is a token of its own.

Chinese (character or jieba-word level):

* optional lowercasing of Latin letters; all whitespace is removed;
* sentence-level punctuation (``。 . ! ?``) becomes ``。`` and clause-level
  punctuation (``， , ； ; ： : 、``) becomes ``，``; other symbols (quotes,
  brackets, ...) are removed; decimal points between digits are kept;
* runs of punctuation collapse to one mark (``。`` wins over ``，``), leading
  punctuation is dropped and the text ends with ``。``.

Both cleaned forms are what the vocabulary sees, what ``decode`` returns and
what references are scored in.
"""
import logging
import re
import threading
import unicodedata
from typing import List

__all__ = [
    'ZH_PERIOD', 'ZH_COMMA', 'clean_report_en', 'clean_report_zh',
    'split_zh_chars', 'split_zh_jieba'
]

ZH_PERIOD = '。'
ZH_COMMA = '，'

# A '.' that is not a decimal point (not between two digits).
_NON_DECIMAL_DOT = r'(?<!\d)\.|\.(?!\d)'
_EN_SENTENCE_SPLIT = re.compile(_NON_DECIMAL_DOT)
_EN_DROP = re.compile(r'[^\w\s.\-]|_')
_EN_LOOSE_HYPHEN = re.compile(r'(?<!\w)-|-(?!\w)')

_ZH_SENTENCE_END = re.compile(r'[!?]|' + _NON_DECIMAL_DOT)
_ZH_CLAUSE_SEP = re.compile(r'[,;:、]')
_ZH_DROP = re.compile(r'[^\w，。.]|_')
_ZH_PUNCT_RUN = re.compile(r'[，。]{2,}')
# Runs of ASCII letters/digits (with decimals) stay one token; else 1 char.
_ZH_CHAR_TOKEN = re.compile(r'[A-Za-z0-9]+(?:\.[0-9]+)*|\S')


def clean_report_en(text: str, lowercase: bool = True) -> str:
    """Normalise an English report (see the module docstring).

    Args:
        text (str): The raw report.
        lowercase (bool): Whether to lowercase. Defaults to True.

    Returns:
        str: Space-separated words, e.g. ``'the heart is normal .'``;
        ``''`` for a report without words.
    """
    text = unicodedata.normalize('NFKC', text)
    if lowercase:
        text = text.lower()
    sentences = []
    for sentence in _EN_SENTENCE_SPLIT.split(text):
        sentence = _EN_DROP.sub(' ', sentence)
        sentence = _EN_LOOSE_HYPHEN.sub(' ', sentence)
        words = sentence.split()
        if words:
            sentences.append(' '.join(words))
    if not sentences:
        return ''
    return ' . '.join(sentences) + ' .'


def _collapse_punct(match: re.Match) -> str:
    return ZH_PERIOD if ZH_PERIOD in match.group() else ZH_COMMA


def clean_report_zh(text: str, lowercase: bool = True) -> str:
    """Normalise a Chinese report (see the module docstring).

    Args:
        text (str): The raw report.
        lowercase (bool): Whether to lowercase Latin letters.
            Defaults to True.

    Returns:
        str: The report without whitespace, ending with ``。``, e.g.
        ``'胸廓对称，纵隔心影居中。'``; ``''`` for an empty report.
    """
    text = unicodedata.normalize('NFKC', text)
    if lowercase:
        text = text.lower()
    # Map punctuation before removing whitespace so '3. 5' is not a decimal.
    text = _ZH_SENTENCE_END.sub(ZH_PERIOD, text)
    text = _ZH_CLAUSE_SEP.sub(ZH_COMMA, text)
    text = ''.join(text.split())
    text = _ZH_DROP.sub('', text)
    text = _ZH_PUNCT_RUN.sub(_collapse_punct, text)
    text = text.lstrip(ZH_COMMA + ZH_PERIOD)
    if not text:
        return ''
    if text.endswith(ZH_COMMA):
        text = text[:-1]
    if not text.endswith(ZH_PERIOD):
        text += ZH_PERIOD
    return text


def split_zh_chars(cleaned: str) -> List[str]:
    """Split cleaned Chinese text into characters.

    Each CJK character and punctuation mark is a token; a run of ASCII
    letters and digits (``ct``, ``3.5``) stays one token.

    Args:
        cleaned (str): Output of :func:`clean_report_zh`.

    Returns:
        list[str]: The tokens; ``''.join`` of them gives ``cleaned`` back.
    """
    return _ZH_CHAR_TOKEN.findall(cleaned)


_JIEBA = None
_JIEBA_LOCK = threading.Lock()


def _get_jieba():
    """Return a private, initialised jieba tokenizer (shared, built once)."""
    global _JIEBA
    with _JIEBA_LOCK:
        if _JIEBA is None:
            try:
                import jieba
            except ImportError as err:
                raise ImportError(
                    "ReportTokenizer(zh_mode='jieba') needs the jieba "
                    "package: `pip install jieba`, or use zh_mode='char'."
                ) from err
            jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict"
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _JIEBA = tokenizer
    return _JIEBA


def split_zh_jieba(cleaned: str) -> List[str]:
    """Split cleaned Chinese text into jieba words (HMM on).

    Args:
        cleaned (str): Output of :func:`clean_report_zh`.

    Returns:
        list[str]: Words and punctuation tokens; ``''.join`` of them gives
        ``cleaned`` back.
    """
    if not cleaned:
        return []
    return [w for w in _get_jieba().lcut(cleaned, HMM=True) if w.strip()]
