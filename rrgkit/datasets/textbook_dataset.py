# Copyright (c) rrgkit contributors. All rights reserved.
"""Sentences of a medical textbook: ASGK's external auxiliary signal.

ASGK (Li et al.) pretrains its report decoder on the sentences of a medical
textbook. :class:`TextbookDataset` turns a text source into such sentences:

* a ``.json`` file holding a list of records (MedQuAD-like), whose text
  ``fields`` (e.g. ``answer``, ``question``) are read;
* a ``.txt`` file (e.g. OCR text), read as paragraphs separated by blank
  lines.

The text is split into sentences (:func:`split_sentences`), noise lines
(mostly digits or punctuation) and headings are dropped, duplicates removed,
sentences outside ``[min_chars, max_chars]`` dropped, and the rest cut into
a seeded train/val split. :class:`PackTextInputs` packs a sentence as a
:class:`~rrgkit.structures.ReportDataSample` for mmengine's loops.
"""
import os.path as osp
import re
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset

from rrgkit.registry import DATASETS, TRANSFORMS
from rrgkit.structures import ReportDataSample
from .annotation_checks import read_json
from .errors import AnnotationError, DatasetError, format_problems

__all__ = [
    'TextbookDataset', 'PackTextInputs', 'split_sentences',
    'clean_sentences'
]

LANGUAGES = ('en', 'zh')
SPLITS = ('train', 'val')

_CJK = r'\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'

# English: a sentence ends at . ! ? (plus closing quotes/brackets) followed
# by whitespace and a capital, a digit or an opening quote/bracket. A '.'
# inside '3.5' is never followed by whitespace, so decimals stay intact.
_EN_END = re.compile(r'[.!?]+["\')\]]*(?=\s+["\'(\[]?[A-Z0-9])')
# Words whose '.' does not end a sentence (lowercased, without the dot).
_EN_ABBREVIATIONS = frozenset({
    'dr', 'mr', 'mrs', 'ms', 'prof', 'st', 'vs', 'e.g', 'i.e', 'fig', 'figs',
    'no', 'nos', 'u.s', 'approx', 'al', 'jr', 'sr', 'inc', 'ltd', 'co', 'mt',
    'ca', 'cf', 'vol', 'ref', 'dept'
})
# Bullet dashes: a '-' with whitespace on both sides (or at the start).
_EN_BULLET = re.compile(r'(?:^|\s)[-\u2013\u2022*]\s+')
# Chinese: split after 。！？ (kept) and at ；/; (dropped).
_ZH_END = re.compile(r'(?<=[。！？])|[；;]')
# OCR line joining for Chinese: a line ending with a continuation mark, or a
# next line starting with a mark that cannot start a sentence.
_ZH_CONTINUES = tuple('，,、：:（(“‘—-/')
_ZH_CONTINUATION_START = tuple('，,、。．；;：:）)”’%％')
_EN_CONTINUES = tuple(',;:(-\u2013')


def _is_noise(text: str) -> bool:
    """Whether at most half of the visible characters are letters/CJK."""
    visible = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in visible)
    return not visible or letters * 2 <= len(visible)


def _normalise_space(text: str, language: str) -> str:
    text = ' '.join(text.split())
    if language == 'zh':  # OCR spaces between CJK characters mean nothing
        text = re.sub(f'(?<=[{_CJK}]) (?=[{_CJK}])', '', text)
    return text


def _unclosed(line: str) -> bool:
    """Whether a line opens more brackets than it closes."""
    return (line.count('(') + line.count('\uff08') >
            line.count(')') + line.count('\uff09'))


def _continues(prev: str, line: str, language: str) -> bool:
    if _unclosed(prev):
        return True
    if language == 'en':
        return prev.endswith(_EN_CONTINUES) or line[0].islower()
    return (prev.endswith(_ZH_CONTINUES)
            or line.startswith(_ZH_CONTINUATION_START))


def _join_lines(lines: List[str], language: str) -> List[str]:
    """Join the lines of one paragraph that were broken mid-sentence.

    A line is continued by the next one when it leaves a bracket open, and
    in English when it ends with ``, ; : ( -`` or the next line starts with
    a lowercase letter (a wrapped line; a trailing hyphen is kept and joined
    without a space); in Chinese (OCR) when it ends with a continuation mark
    (``， 、 ： （`` ...) or the next line starts with a mark that cannot
    start a sentence (``， 。 ） %`` ...). Any other line break ends a
    sentence.
    """
    out: List[str] = []
    prev = ''  # the previous raw line (brackets are counted per line)
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        if not out or not _continues(prev, line, language):
            out.append(line)
        elif language == 'zh' or (prev.endswith('-') and line[0].isalpha()):
            out[-1] += line
        else:
            out[-1] += ' ' + line
        prev = line
    return out


def _split_en(text: str) -> List[str]:
    pieces, start = [], 0
    for match in _EN_END.finditer(text):
        words = text[start:match.start()].split()
        last = words[-1].lstrip('("\'') if words else ''
        if last.lower() in _EN_ABBREVIATIONS or re.fullmatch('[A-Z]', last):
            continue  # 'Dr. Smith', 'e.g. Fever', 'J. Smith'
        pieces.append(text[start:match.end()])
        start = match.end()
    pieces.append(text[start:])
    return [p for chunk in pieces for p in _EN_BULLET.split(chunk)]


def split_sentences(text: str, language: str = 'en') -> List[str]:
    """Split a text into sentences.

    Blank lines separate paragraphs; line breaks inside a paragraph end a
    sentence unless the line was broken mid-sentence (see
    :func:`_join_lines`); form feeds (OCR page breaks) never do. English
    then splits at ``. ! ?`` followed by whitespace and a capital or digit
    (decimals like ``3.5``, common abbreviations and initials are kept
    together) and at bullet dashes (`` - ``). Chinese splits after
    ``。！？`` and at ``；``.

    Args:
        text (str): The raw text.
        language (str): ``'en'`` or ``'zh'``. Defaults to ``'en'``.

    Returns:
        list[str]: Non-empty sentences, whitespace normalised, in order.
    """
    if language not in LANGUAGES:
        raise ValueError(f'language must be one of {LANGUAGES}, got '
                         f'{language!r}')
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    # A form feed is an OCR page break, often in mid-sentence: join across.
    text = text.replace('\f', '' if language == 'zh' else ' ')
    sentences = []
    for paragraph in re.split(r'\n[ \t\v]*\n', text):
        for line in _join_lines(paragraph.split('\n'), language):
            line = _normalise_space(line, language)
            parts = _split_en(line) if language == 'en' else \
                _ZH_END.split(line)
            sentences += [p.strip() for p in parts if p and p.strip()]
    return sentences


def _is_heading(sentence: str, language: str) -> bool:
    """A short English fragment without final punctuation (``Key Points``)."""
    return (language == 'en' and not sentence.rstrip('"\')]').endswith(
        ('.', '!', '?')) and len(sentence.split()) <= 3)


def clean_sentences(sentences: Sequence[str],
                    language: str = 'en',
                    min_chars: int = 10,
                    max_chars: int = 300,
                    drop_fragments: bool = False) -> List[str]:
    """Filter and deduplicate sentences, keeping the first occurrence.

    Drops noise (at most half the visible characters are letters or CJK
    characters, e.g. OCR page numbers), English headings (at most 3 words
    and no final ``. ! ?``), sentences shorter than ``min_chars`` or longer
    than ``max_chars`` characters, and duplicates (compared case- and
    space-insensitively).

    Args:
        sentences (Sequence[str]): Output of :func:`split_sentences`.
        language (str): ``'en'`` or ``'zh'``. Defaults to ``'en'``.
        min_chars (int): Minimum length. Defaults to 10.
        max_chars (int): Maximum length. Defaults to 300.
        drop_fragments (bool): Also drop a sentence contained in a longer
            kept one (OCR text repeats broken pieces of lines).
            Defaults to False.

    Returns:
        list[str]: The kept sentences, in order.
    """
    kept, seen = [], set()
    for sentence in sentences:
        if (not min_chars <= len(sentence) <= max_chars or _is_noise(sentence)
                or _is_heading(sentence, language)):
            continue
        key = ''.join(sentence.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    if drop_fragments:
        keys = [''.join(s.casefold().split()) for s in kept]
        joined = '\n'.join(keys)
        kept = [s for s, k in zip(kept, keys) if joined.count(k) == 1]
    return kept


@DATASETS.register_module()
class TextbookDataset(BaseDataset):
    """Sentences of a medical text, for ASGK's textbook pretraining.

    Each item of ``data_list`` is ``{'img_id': 'tb_000123', 'report':
    sentence}``; the number is the sentence's index among all kept
    sentences of the file, so ids are unique across splits. The split is
    by sentence: the sentences are shuffled with ``seed`` and the first
    ``round(N * val_ratio)`` (at least 1 when ``val_ratio > 0``) form 'val';
    each split keeps the text order.

    Args:
        ann_file (str): A ``.json`` list of records with string ``fields``
            (e.g. MedQuAD question/answer pairs) or a ``.txt`` file; relative
            to ``data_root`` unless absolute.
        data_root (str): Root folder of the data. Defaults to ''.
        language (str): ``'en'`` or ``'zh'``. Defaults to ``'en'``.
        fields (Sequence[str]): Record fields read from a ``.json`` file.
            Defaults to ``('answer',)``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        val_ratio (float): Fraction of sentences in 'val', in ``[0, 1)``.
            Defaults to 0.05.
        seed (int): Seed of the split. Defaults to 0.
        min_chars (int): Minimum sentence length in characters.
            Defaults to 10.
        max_chars (int): Maximum sentence length in characters.
            Defaults to 300.
        drop_fragments (bool, optional): Drop sentences contained in longer
            ones (repeated OCR pieces). Defaults to None: True for
            ``'zh'``, False for ``'en'``.
        pipeline (Sequence[dict | Callable]): Transforms, built with
            rrgkit's TRANSFORMS registry, e.g.
            ``[dict(type='PackTextInputs')]``. Defaults to ().
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``metainfo``, ``lazy_init``, ``indices``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 language: str = 'en',
                 fields: Sequence[str] = ('answer', ),
                 split: str = 'train',
                 val_ratio: float = 0.05,
                 seed: int = 0,
                 min_chars: int = 10,
                 max_chars: int = 300,
                 drop_fragments: Optional[bool] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 **kwargs) -> None:
        if language not in LANGUAGES:
            raise DatasetError(f'TextbookDataset: language must be one of '
                               f'{LANGUAGES}, got {language!r}.')
        if split not in SPLITS:
            raise DatasetError(f'TextbookDataset: split must be one of '
                               f'{SPLITS}, got {split!r}.')
        if not 0 <= val_ratio < 1:
            raise DatasetError(f'TextbookDataset: val_ratio must be in '
                               f'[0, 1), got {val_ratio}.')
        if isinstance(fields, str) or not fields:
            raise DatasetError('TextbookDataset: fields must be a non-empty '
                               f"list of keys such as ('answer',), got "
                               f'{fields!r}.')
        if not 0 < min_chars <= max_chars:
            raise DatasetError(f'TextbookDataset: need 0 < min_chars <= '
                               f'max_chars, got {min_chars}, {max_chars}.')
        self.language, self.fields = language, tuple(fields)
        self.split, self.val_ratio, self.seed = split, val_ratio, int(seed)
        self.min_chars, self.max_chars = min_chars, max_chars
        self.drop_fragments = (language == 'zh' if drop_fragments is None
                               else bool(drop_fragments))
        pipeline = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline
        ]
        super().__init__(ann_file=ann_file, data_root=data_root,
                         pipeline=pipeline, **kwargs)
        self._metainfo.update(split=split, language=language)

    # ------------------------------------------------------------ reading
    def _read_texts(self) -> List[str]:
        path = self.ann_file
        suffix = osp.splitext(path)[1].lower()
        if suffix == '.txt':
            return [self._read_txt(path)]
        if suffix != '.json':
            raise DatasetError(
                f'Textbook file {path!r} must be a .json list of records or '
                'a .txt file.')
        records = read_json(path, 'Textbook file')
        if not isinstance(records, list):
            raise AnnotationError(
                f'Textbook file {path!r} must hold a JSON list of records '
                f'like [{{"question": ..., "answer": ...}}], got a '
                f'{type(records).__name__}.')
        problems, texts = [], []
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                problems.append(f'record #{i} is {type(rec).__name__}, not '
                                'an object')
                continue
            for key in self.fields:
                if not isinstance(rec.get(key), str):
                    what = 'missing' if key not in rec else \
                        f'not a string ({type(rec[key]).__name__})'
                    problems.append(f'record #{i}: key {key!r} is {what}')
                else:
                    texts.append(rec[key])
        if problems:
            raise AnnotationError(
                f'{len(problems)} problem(s) in textbook file {path!r}:\n'
                f'{format_problems(problems)}\nEvery record needs the '
                f'string field(s) {list(self.fields)}; fix the file or pass '
                'other `fields`.')
        return texts

    @staticmethod
    def _read_txt(path: str) -> str:
        if not osp.isfile(path):
            raise AnnotationError(
                f'Textbook file not found: {path!r}. Check `data_root` and '
                'the file name (relative paths are joined to `data_root`).')
        with open(path, 'rb') as f:
            raw = f.read()
        try:
            return raw.decode('utf-8-sig')
        except UnicodeDecodeError as e:
            raise AnnotationError(
                f'Textbook file {path!r} is not UTF-8 text (bad byte at '
                f'offset {e.start}). Re-save it as UTF-8.') from None

    def load_sentences(self) -> List[str]:
        """All kept sentences of the file (both splits), in text order."""
        sentences = []
        for text in self._read_texts():
            sentences += split_sentences(text, self.language)
        return clean_sentences(sentences, self.language, self.min_chars,
                               self.max_chars, self.drop_fragments)

    def load_data_list(self) -> List[dict]:
        """Sentences of ``self.split`` as ``{'img_id', 'report'}`` dicts."""
        sentences = self.load_sentences()
        n = len(sentences)
        n_val = int(round(n * self.val_ratio))
        if self.val_ratio > 0 and n >= 2:
            n_val = min(max(n_val, 1), n - 1)
        order = np.random.default_rng(self.seed).permutation(n)
        chosen = order[:n_val] if self.split == 'val' else order[n_val:]
        data_list = [dict(img_id=f'tb_{i:06d}', report=sentences[i])
                     for i in sorted(chosen.tolist())]
        if not data_list:
            raise DatasetError(
                f'TextbookDataset: no sentence left in split {self.split!r} '
                f'of {self.ann_file!r} ({n} sentence(s) in the file after '
                f'filtering with language={self.language!r}, '
                f'min_chars={self.min_chars}, max_chars={self.max_chars}, '
                f'val_ratio={self.val_ratio}). Check the file, `fields` and '
                '`language`, or relax the filters.')
        return data_list

    def get_reports(self) -> List[str]:
        """Return the sentences of this split, in order.

        Returns:
            list[str]: One sentence per sample.
        """
        if not self._fully_initialized:
            self.full_init()
        return [self.get_data_info(i)['report'] for i in range(len(self))]


@TRANSFORMS.register_module()
class PackTextInputs(BaseTransform):
    """Pack a text-only record for mmengine's loops.

    Returns ``{'inputs': torch.zeros(1), 'data_samples': sample}``: there is
    no image, so ``inputs`` is a placeholder, and ``sample`` is a
    :class:`ReportDataSample` with ``gt_report`` and the meta keys present.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo.
            Defaults to ``('img_id',)``.
    """

    def __init__(self, meta_keys: Sequence[str] = ('img_id', )) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Return the placeholder input and the data sample."""
        if not isinstance(results.get('report'), str):
            raise DatasetError(
                "PackTextInputs needs results['report'] (a string), got "
                f'{type(results.get("report")).__name__} for '
                f'{results.get("img_id")!r}.')
        sample = ReportDataSample().set_gt_report(results['report'])
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        return {'inputs': torch.zeros(1), 'data_samples': sample}

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
