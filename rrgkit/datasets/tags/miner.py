# Copyright (c) rrgkit contributors. All rights reserved.
"""Mine a tag vocabulary from training reports and label reports with it.

A report is split into clauses, every lexicon pattern is matched in every
clause, and each match is affirmed or negated (:mod:`.negation`). An
affirmed match emits its term's ``tag``, a negated one its ``negated_tag``
("no enlarged lymph nodes" -> ``no lymph node enlargement``, never
``lymph node enlargement``). Location tags are kept only next to an
affirmed lesion (see :mod:`.lexicon`). Mining counts, per tag, the training
reports that get it and keeps the tags found in at least ``min_count`` of
them: abnormal tags first, then normal ones, each by count (ties: lexicon
order).
"""
import collections
import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Any, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Set, Tuple, Union)

from ..errors import AnnotationError
from .lexicon import DEFAULT_LEXICON, Lexicon
from .negation import (find_negations, is_negated, normalize_language,
                       split_clauses)

__all__ = [
    'MINER_VERSION', 'TagVocabularyError', 'Mention', 'TagVocabulary',
    'find_mentions', 'extract_tags', 'mine_tag_vocabulary', 'label_report',
    'unmatched_clauses', 'load_tag_file', 'write_json_atomic'
]

#: Bump when a change of the matching rules changes the tags of a report.
MINER_VERSION = '1.0'
FORMAT = 'rrgkit.tag_vocabulary'
FORMAT_VERSION = 1


class TagVocabularyError(AnnotationError):
    """A tag vocabulary file is missing, malformed or does not fit."""


@dataclass(frozen=True)
class Mention:
    """One lexicon match in a report.

    Args:
        term_tag (str, optional): The matched term's affirmed tag.
        tag (str, optional): The tag it emits (None: nothing).
        negated (bool): Whether the match is in a negation scope.
        text (str): The matched text.
        clause (int): Clause number.
        sentence (int): Sentence number.
    """
    term_tag: Optional[str]
    tag: Optional[str]
    negated: bool
    text: str
    clause: int
    sentence: int


def _category(lexicon: Lexicon, tag: Optional[str]) -> Optional[str]:
    return None if tag is None else lexicon.tags[tag].category


def find_mentions(report: str,
                  language: str,
                  lexicon: Optional[Lexicon] = None) -> List[Mention]:
    """Every lexicon match of a report, with negation and location rules.

    Args:
        report (str): The report.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.

    Returns:
        list[Mention]: In clause order.
    """
    lexicon = DEFAULT_LEXICON if lexicon is None else lexicon
    language = normalize_language(language)
    raw = []
    for clause in split_clauses(report, language):
        cues = find_negations(clause.text, language)
        for term, regex in lexicon.patterns(language):
            for match in regex.finditer(clause.text):
                negated = is_negated(match.span(), cues)
                tag = term.negated_tag if negated else term.tag
                raw.append(
                    Mention(term.tag, tag, negated, match.group(),
                            clause.index, clause.sentence))
    # Locations only count next to an affirmed lesion.
    lesion_clauses, lesion_sentences, busy_clauses = set(), set(), set()
    for m in raw:
        category = _category(lexicon, m.tag)
        if category == 'lesion':
            lesion_clauses.add(m.clause)
            lesion_sentences.add(m.sentence)
        if _category(lexicon, m.term_tag) not in ('location', 'attribute'):
            busy_clauses.add(m.clause)
    out = []
    for m in raw:
        anchored = m.clause in lesion_clauses or (
            m.clause not in busy_clauses and m.sentence in lesion_sentences)
        if _category(lexicon, m.tag) == 'location' and not anchored:
            m = dataclasses.replace(m, tag=None)
        out.append(m)
    return out


def extract_tags(report: str,
                 language: str,
                 lexicon: Optional[Lexicon] = None) -> Set[str]:
    """All lexicon tags of a report (not limited to a vocabulary).

    Args:
        report (str): The report.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.

    Returns:
        set[str]: The tags.
    """
    return {m.tag for m in find_mentions(report, language, lexicon) if m.tag}


def _check_reports(reports: Iterable[str]) -> List[str]:
    reports = list(reports)
    for i, report in enumerate(reports):
        if not isinstance(report, str):
            raise TypeError(f'reports[{i}] must be a string, got '
                            f'{type(report).__name__}.')
    return reports


def unmatched_clauses(reports: Iterable[str],
                      language: str,
                      lexicon: Optional[Lexicon] = None,
                      top: int = 20) -> List[Tuple[str, int]]:
    """The most frequent clauses no lexicon pattern matched (to curate it).

    Args:
        reports (Iterable[str]): Reports.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.
        top (int): How many to return. Defaults to 20.

    Returns:
        list[tuple[str, int]]: ``(clause, count)``, most frequent first.
    """
    counter = collections.Counter()
    for report in _check_reports(reports):
        hit = {m.clause for m in find_mentions(report, language, lexicon)}
        counter.update(c.text for c in split_clauses(report, language)
                       if c.index not in hit)
    return counter.most_common(top)


def write_json_atomic(obj: Any, path: Union[str, os.PathLike]) -> str:
    """Write UTF-8 JSON to a temp file in the same folder, then rename it.

    Args:
        obj (Any): JSON-able object.
        path (str | PathLike): Destination; parent folders are created.

    Returns:
        str: The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False, indent=1) + '\n'
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.',
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return str(path)


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


def mine_tag_vocabulary(reports: Iterable[str],
                        language: str,
                        min_count: int = 3,
                        lexicon: Optional[Lexicon] = None,
                        *,
                        source_ann_sha256: Optional[str] = None,
                        split_sha256: Optional[str] = None,
                        split: Optional[dict] = None) -> TagVocabulary:
    """Mine a tag vocabulary from (training) reports.

    Args:
        reports (Iterable[str]): Training reports; empty ones are skipped.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        min_count (int): Keep tags found in at least this many reports.
            Defaults to 3.
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.
        source_ann_sha256 (str, optional): Recorded in the vocabulary.
        split_sha256 (str, optional): Recorded in the vocabulary.
        split (dict, optional): Recorded in the vocabulary.

    Returns:
        TagVocabulary: The vocabulary.

    Raises:
        TagVocabularyError: When no tag reaches ``min_count``.
    """
    lexicon = DEFAULT_LEXICON if lexicon is None else lexicon
    language = normalize_language(language)
    if isinstance(min_count, bool) or not isinstance(min_count, int) \
            or min_count < 1:
        raise ValueError(f'min_count must be an integer >= 1, got '
                         f'{min_count!r}.')
    reports = [r for r in _check_reports(reports) if r.strip()]
    counts = collections.Counter()
    for report in reports:
        counts.update(extract_tags(report, language, lexicon))
    order = {name: i for i, name in enumerate(lexicon.tags)}
    kept = sorted((t for t in lexicon.tags if counts[t] >= min_count),
                  key=lambda t: (-counts[t], order[t]))
    if not kept:
        raise TagVocabularyError(
            f'No tag occurs in {min_count} or more of the {len(reports)} '
            f'{language} reports. Check the language of the reports, or '
            'lower min_count.')
    return TagVocabulary(
        language=language,
        abnormal=[t for t in kept if lexicon.tags[t].kind == 'abnormal'],
        normal=[t for t in kept if lexicon.tags[t].kind == 'normal'],
        counts={t: counts[t] for t in kept},
        min_count=min_count,
        num_reports=len(reports),
        categories={t: lexicon.tags[t].category for t in kept},
        chinese_names={t: lexicon.tags[t].chinese for t in kept},
        lexicon_sha256=lexicon.fingerprint(),
        source_ann_sha256=source_ann_sha256,
        split_sha256=split_sha256,
        split=split)


def label_report(report: str,
                 vocab: TagVocabulary,
                 language: Optional[str] = None,
                 lexicon: Optional[Lexicon] = None) -> Set[str]:
    """The vocabulary's tags found in one report.

    Args:
        report (str): The report (an empty one gets no tag).
        vocab (TagVocabulary): The vocabulary.
        language (str, optional): Must match ``vocab.language``. Defaults
            to ``vocab.language``.
        lexicon (Lexicon, optional): Must be the lexicon the vocabulary was
            mined with. Defaults to :data:`DEFAULT_LEXICON`.

    Returns:
        set[str]: The tags.
    """
    lexicon = DEFAULT_LEXICON if lexicon is None else lexicon
    language = vocab.language if language is None \
        else normalize_language(language)
    if language != vocab.language:
        raise TagVocabularyError(
            f'The vocabulary was mined from {vocab.language} reports; it '
            f'cannot label {language} ones. Mine a {language} vocabulary.')
    if vocab.lexicon_sha256 and vocab.lexicon_sha256 != lexicon.fingerprint():
        raise TagVocabularyError(
            'The vocabulary was mined with a different lexicon (lexicon_sha256'
            f' {vocab.lexicon_sha256[:12]}... vs {lexicon.fingerprint()[:12]}'
            '...). Pass that lexicon, or mine the vocabulary again.')
    return extract_tags(report, language, lexicon) & set(vocab.tags)
