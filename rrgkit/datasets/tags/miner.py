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
order). The vocabulary itself and its JSON file are in :mod:`.vocabulary`.
"""
import collections
import dataclasses
from dataclasses import dataclass
from typing import Iterable, List, Optional, Set, Tuple

from .default_lexicon import DEFAULT_LEXICON
from .lexicon import Lexicon
from .negation import (clip_scopes, find_negations, is_negated,
                       normalize_language, split_clauses)
# The vocabulary and its file I/O are re-exported: annotate.py and external
# code import them from here.
from .vocabulary import (MINER_VERSION, TagVocabulary, TagVocabularyError,
                         load_tag_file, write_json_atomic)

__all__ = [
    'MINER_VERSION', 'TagVocabularyError', 'Mention', 'TagVocabulary',
    'find_mentions', 'extract_tags', 'mine_tag_vocabulary', 'label_report',
    'unmatched_clauses', 'load_tag_file', 'write_json_atomic'
]


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
                  lexicon: Optional[Lexicon] = None,
                  negation_window: Optional[int] = None) -> List[Mention]:
    """Every lexicon match of a report, with negation and location rules.

    Args:
        report (str): The report.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.
        negation_window (int, optional): Cap negation scopes at this many
            words (characters for Chinese), see
            :func:`~.negation.clip_scopes`; for text without commas, such
            as cleaned model output. Defaults to None (clause-long scopes).

    Returns:
        list[Mention]: In clause order.
    """
    lexicon = DEFAULT_LEXICON if lexicon is None else lexicon
    language = normalize_language(language)
    raw = []
    for clause in split_clauses(report, language):
        cues = clip_scopes(find_negations(clause.text, language),
                           clause.text, negation_window, language)
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
                 lexicon: Optional[Lexicon] = None,
                 negation_window: Optional[int] = None) -> Set[str]:
    """All lexicon tags of a report (not limited to a vocabulary).

    Args:
        report (str): The report.
        language (str): 'english' or 'chinese' (or 'en' / 'zh').
        lexicon (Lexicon, optional): Defaults to :data:`DEFAULT_LEXICON`.
        negation_window (int, optional): See :func:`find_mentions`.
            Defaults to None.

    Returns:
        set[str]: The tags.
    """
    return {m.tag for m in find_mentions(report, language, lexicon,
                                         negation_window) if m.tag}


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
                 lexicon: Optional[Lexicon] = None,
                 negation_window: Optional[int] = None) -> Set[str]:
    """The vocabulary's tags found in one report.

    Args:
        report (str): The report (an empty one gets no tag).
        vocab (TagVocabulary): The vocabulary.
        language (str, optional): Must match ``vocab.language``. Defaults
            to ``vocab.language``.
        lexicon (Lexicon, optional): Must be the lexicon the vocabulary was
            mined with. Defaults to :data:`DEFAULT_LEXICON`.
        negation_window (int, optional): See :func:`find_mentions`.
            Defaults to None.

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
    return extract_tags(report, language, lexicon,
                        negation_window) & set(vocab.tags)
