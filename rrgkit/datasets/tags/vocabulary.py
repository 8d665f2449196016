# Copyright (c) rrgkit contributors. All rights reserved.
"""The tag vocabulary and its JSON file.

A :class:`TagVocabulary` is mined by
:func:`rrgkit.datasets.tags.mine_tag_vocabulary` and saved, with the
per-image labels, as one JSON file (``tools/dataset_converters/
mine_tags.py``). The file records how it was made (miner and lexicon
version, source annotation and split hashes) and a fingerprint that
:meth:`TagVocabulary.from_dict` checks, so an edited or stale file is
caught when it is read.
"""
import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple, Union)

from ..errors import AnnotationError
from rrgkit.utils.fileio import atomic_write_json
from .negation import normalize_language

__all__ = [
    'MINER_VERSION', 'FORMAT', 'FORMAT_VERSION', 'TagVocabularyError',
    'TagVocabulary', 'load_tag_file', 'write_json_atomic'
]

#: Bump when a change of the matching rules changes the tags of a report.
MINER_VERSION = '1.0'
FORMAT = 'rrgkit.tag_vocabulary'
FORMAT_VERSION = 1


class TagVocabularyError(AnnotationError):
    """A tag vocabulary file is missing, malformed or does not fit."""


def write_json_atomic(obj: Any, path: Union[str, os.PathLike]) -> str:
    """Write UTF-8 JSON atomically (see :func:`rrgkit.utils.fileio.atomic_write`).

    Args:
        obj (Any): JSON-able object.
        path (str | PathLike): Destination; parent folders are created.

    Returns:
        str: The path written.
    """
    return atomic_write_json(obj, path)


def _read_json(path: Union[str, os.PathLike]) -> Any:
    path = Path(path)
    if not path.is_file():
        raise TagVocabularyError(
            f'Tag file {str(path)!r} not found. Create it with '
            '`python tools/dataset_converters/mine_tags.py ANNOTATION '
            '--language LANG --out PATH`.')
    try:
        return json.loads(path.read_text(encoding='utf-8-sig'))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TagVocabularyError(
            f'Tag file {str(path)!r} is not valid UTF-8 JSON ({err}); it may '
            'be truncated: mine it again.') from None


@dataclass
class TagVocabulary:
    """An ordered tag vocabulary: abnormal tags, then normal tags.

    Args:
        language (str): 'english' or 'chinese'.
        abnormal (list[str]): Abnormal tags, most frequent first.
        normal (list[str]): Normal tags, most frequent first.
        counts (dict[str, int]): Training reports carrying each tag.
        min_count (int): Threshold used when mining. Defaults to 3.
        num_reports (int): Training reports mined. Defaults to 0.
        categories (dict[str, str]): Lexicon category of each tag.
        chinese_names (dict[str, str]): Chinese display name of each tag.
        lexicon_sha256 (str): Fingerprint of the lexicon used.
        miner_version (str): Defaults to :data:`MINER_VERSION`.
        source_ann_sha256 (str, optional): SHA-256 of the annotation file.
        split_sha256 (str, optional): Hash of the sorted train/val/test ids.
        split (dict, optional): How the split was made, e.g.
            ``{"resplit": None}`` or ``{"resplit": {"seed": 0, ...}}``.
    """
    language: str
    abnormal: List[str]
    normal: List[str]
    counts: Dict[str, int]
    min_count: int = 3
    num_reports: int = 0
    categories: Dict[str, str] = field(default_factory=dict)
    chinese_names: Dict[str, str] = field(default_factory=dict)
    lexicon_sha256: str = ''
    miner_version: str = MINER_VERSION
    source_ann_sha256: Optional[str] = None
    split_sha256: Optional[str] = None
    split: Optional[dict] = None

    def __post_init__(self) -> None:
        self.language = normalize_language(self.language)
        tags = self.tags
        dups = sorted({t for t in tags if tags.count(t) > 1})
        if dups:
            raise TagVocabularyError(f'Tags listed more than once (or both '
                                     f'abnormal and normal): {dups}.')
        if set(self.counts) != set(tags):
            raise TagVocabularyError(
                'counts must have exactly one entry per tag; differences: '
                f'{sorted(set(self.counts) ^ set(tags))}.')

    @property
    def tags(self) -> List[str]:
        """All tags: abnormal, then normal."""
        return list(self.abnormal) + list(self.normal)

    @property
    def version(self) -> str:
        """Fingerprint of the vocabulary and of the data it was mined from."""
        key = dict(format_version=FORMAT_VERSION, miner=self.miner_version,
                   language=self.language, abnormal=self.abnormal,
                   normal=self.normal, min_count=self.min_count,
                   lexicon=self.lexicon_sha256, ann=self.source_ann_sha256,
                   split=self.split_sha256)
        text = json.dumps(key, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.abnormal) + len(self.normal)

    def __contains__(self, tag: object) -> bool:
        return tag in self.abnormal or tag in self.normal

    def index(self, tag: str) -> int:
        """Position of ``tag`` in :attr:`tags`."""
        return self.tags.index(tag)

    def encode(self, tags: Iterable[str]) -> List[int]:
        """Multi-hot list over :attr:`tags`.

        Raises:
            TagVocabularyError: On a tag outside the vocabulary.
        """
        tags = set(tags)
        unknown = sorted(tags - set(self.tags))
        if unknown:
            raise TagVocabularyError(f'Tags not in the vocabulary: {unknown}.')
        return [int(t in tags) for t in self.tags]

    def to_dict(self) -> dict:
        """JSON-able form (see :meth:`save`)."""
        data = dict(format=FORMAT, format_version=FORMAT_VERSION,
                    version=self.version, tags=self.tags)
        for f in dataclasses.fields(self):
            data[f.name] = getattr(self, f.name)
        return data

    @classmethod
    def from_dict(cls,
                  data: Mapping,
                  source: str = 'tag data') -> 'TagVocabulary':
        """Rebuild a vocabulary from :meth:`to_dict` output, checking it.

        Args:
            data (Mapping): The dict.
            source (str): Named in error messages. Defaults to 'tag data'.

        Returns:
            TagVocabulary: The vocabulary.
        """
        if not isinstance(data, Mapping) or data.get('format') != FORMAT:
            raise TagVocabularyError(
                f'{source} is not an rrgkit tag vocabulary (no "format": '
                f'"{FORMAT}" entry). Mine one with tools/dataset_converters/'
                'mine_tags.py.')
        if data.get('format_version') != FORMAT_VERSION:
            raise TagVocabularyError(
                f'{source} has format_version {data.get("format_version")!r}; '
                f'this rrgkit reads {FORMAT_VERSION}. Mine it again.')
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in ('language', 'abnormal', 'normal', 'counts')
                   if n not in data]
        if missing:
            raise TagVocabularyError(f'{source} lacks key(s) {missing}.')
        try:
            vocab = cls(**{k: data[k] for k in names if k in data})
        except (TypeError, ValueError) as err:
            raise TagVocabularyError(f'{source} is malformed: {err}') from None
        if (data.get('tags') != vocab.tags
                or data.get('version') != vocab.version):
            raise TagVocabularyError(
                f'{source} was edited after mining: its "tags" or "version" '
                'no longer match its abnormal/normal lists and sources. Mine '
                'it again (to change the vocabulary, pass a custom lexicon or '
                '--min-count).')
        return vocab

    def save(self, path: Union[str, os.PathLike],
             labels: Optional[Mapping[str, Sequence[str]]] = None) -> str:
        """Write the vocabulary (and per-image labels) as JSON, atomically.

        Args:
            path (str | PathLike): Destination.
            labels (Mapping[str, Sequence[str]], optional): ``{image id:
                [tags]}``, stored under ``"labels"``. Defaults to None.

        Returns:
            str: The path written.
        """
        data = self.to_dict()
        if labels is not None:
            known = set(self.tags)
            bad = {k: v for k, v in labels.items() if not set(v) <= known}
            if bad:
                key = next(iter(bad))
                raise TagVocabularyError(
                    f'labels of {len(bad)} image(s) use tags outside the '
                    f'vocabulary, e.g. {key!r}: '
                    f'{sorted(set(bad[key]) - known)}.')
            data['labels'] = {
                str(k): [t for t in self.tags if t in set(v)]
                for k, v in labels.items()
            }
        return write_json_atomic(data, path)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> 'TagVocabulary':
        """Read a vocabulary written by :meth:`save`.

        Args:
            path (str | PathLike): The JSON file.

        Returns:
            TagVocabulary: The vocabulary.
        """
        return cls.from_dict(_read_json(path), f'Tag file {str(path)!r}')


def load_tag_file(
        path: Union[str, os.PathLike]
) -> Tuple[TagVocabulary, Dict[str, List[str]]]:
    """Read a tag file: the vocabulary and its ``{image id: [tags]}`` labels.

    Args:
        path (str | PathLike): A file written by ``mine_tags.py``.

    Returns:
        tuple[TagVocabulary, dict[str, list[str]]]: Labels are empty when
        the file has none.
    """
    data = _read_json(path)
    source = f'Tag file {str(path)!r}'
    vocab = TagVocabulary.from_dict(data, source)
    labels = data.get('labels', {})
    known = set(vocab.tags)
    if not isinstance(labels, dict) or not all(
            isinstance(v, list) and set(v) <= known for v in labels.values()):
        raise TagVocabularyError(
            f'{source}: "labels" must map image ids to lists of tags of the '
            'vocabulary. Mine the file again.')
    return vocab, labels
