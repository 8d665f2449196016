# Copyright (c) rrgkit contributors. All rights reserved.
"""Split a free-text report into K descriptions plus a conclusion.

MDNet (Zhang et al., CVPR 2017) "duplicates" its LSTM decoder over the K
parts of a report (one description per finding type, then the
conclusion). Datasets whose reports are one block of text are mapped onto
that form by a *report splitter*; :class:`KeywordReportSplitter` does it
with keyword rules:

1. The report is cut into *sentences* at ``. ; ! ?`` (Chinese ``。；！？``;
   a ``.`` between digits, as in "1.5 cm", is kept) and each sentence into
   *pieces* at ``,`` and ``:`` (Chinese ``，：``; the enumeration comma
   ``、`` does not cut).
2. A piece whose text matches a keyword of some group (or a conclusion
   keyword) opens a new *clause* of that group: a new anatomical subject
   starts there. A piece that matches nothing ("with blurred margins",
   "边缘模糊") continues the clause before it in the same sentence. A
   sentence that opens with such pieces gives a clause that falls into *no
   group*; the ``other`` policy decides where it goes.
3. The clauses of a group are joined in report order into one description:
   clauses of one sentence with ``, `` (``，``), sentences with ``. ``
   (``。``), ending in ``.`` (``。``). English sentences are capitalised.
   Words are never changed, added or dropped (unless ``other='drop'``).
4. The conclusion is the text of the conclusion clauses, if any; otherwise
   ``conclusion_templates[label]`` when both are known; otherwise ''.
"""
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from rrgkit.registry import REPORT_SPLITTERS
from ..errors import DatasetError
from ..tags.negation import normalize_language

__all__ = [
    'KeywordReportSplitter', 'ReportSplit', 'ReportSplitError',
    'join_descriptions', 'OTHER_POLICIES'
]

#: Where a clause that matches no group goes: the group (or conclusion) of
#: the clause before it ('previous'; the next matched clause's at the start
#: of a report), the last group ('last'), nowhere ('drop'), or an error.
OTHER_POLICIES = ('previous', 'last', 'drop', 'error')

_DOT = r'(?<!\d)\.|\.(?!\d)'
_SENTENCE_END = {
    'english': re.compile(r'[;!?\n]|' + _DOT),
    'chinese': re.compile(r'[。；;！!？?\n]|' + _DOT),
}
_PIECE_SPLIT = {
    'english': re.compile(r'([,:])'),
    'chinese': re.compile(r'([，,：:])'),
}
_PUNCT = {'english': ('. ', ', ', '.'), 'chinese': ('。', '，', '。')}
_ENDS = ('.', '!', '?', '。', '！', '？')


class ReportSplitError(DatasetError):
    """A report has a clause that no group claims (with ``other='error'``)."""


@dataclass
class ReportSplit:
    """The result of splitting one report.

    Args:
        descriptions (list[str]): K descriptions, '' where a group is empty.
        conclusion (str): The conclusion ('' when unknown).
        clauses (list[tuple[str, str | None]]): Every clause with the group
            it matched (a group name, ``'conclusion'``, or None for no
            group), in report order, before the ``other`` policy.
    """
    descriptions: List[str]
    conclusion: str
    clauses: List[Tuple[str, Optional[str]]] = field(default_factory=list)

    @property
    def unmatched(self) -> List[str]:
        """The clauses that matched no group (nor the conclusion)."""
        return [text for text, group in self.clauses if group is None]


def join_descriptions(texts: Sequence[str], language: str = 'en') -> str:
    """Join descriptions (and a conclusion) into one report.

    Empty texts are skipped; a text without a final ``. ! ?`` (``。！？``)
    gets one. English texts are joined with a space, Chinese ones with
    nothing. Used for the references of multi-description datasets, and by
    models that generate the K parts separately.

    Args:
        texts (Sequence[str]): The parts, in order.
        language (str): 'en'/'english' or 'zh'/'chinese'. Defaults to 'en'.

    Returns:
        str: The joined report.
    """
    language = normalize_language(language)
    end = _PUNCT[language][2]
    parts = []
    for text in texts:
        text = str(text).strip()
        if text:
            parts.append(text if text.endswith(_ENDS) else text + end)
    return (' ' if language == 'english' else '').join(parts)


def _compile(words: Sequence[str], where: str) -> 're.Pattern':
    if isinstance(words, str) or not all(isinstance(w, str) and w
                                         for w in words):
        raise DatasetError(f'{where} must be a list of non-empty keyword '
                           f'strings (regular expressions), got {words!r}.')
    try:
        return re.compile('|'.join(f'(?:{w})' for w in words), re.IGNORECASE)
    except re.error as e:
        raise DatasetError(f'{where} has a bad regular expression: {e}. '
                           'Escape special characters (re.escape).') from None


@REPORT_SPLITTERS.register_module()
class KeywordReportSplitter:
    """Split reports into K descriptions by keyword groups (see module doc).

    Args:
        groups (Sequence[tuple[str, Sequence[str]]]): ``(name, keywords)``
            per description, in description order. Keywords are regular
            expressions matched case-insensitively anywhere in a piece
            (plain words work as they are).
        language (str): 'en'/'english' or 'zh'/'chinese'. Defaults to 'en'.
        conclusion_templates (Mapping[int, str], optional): Conclusion text
            per class label, used when a report has no conclusion text.
            Defaults to None.
        conclusion_keywords (Sequence[str], optional): Keywords of
            conclusion clauses ("impression", "考虑"); tried before the
            groups. Defaults to None (reports have no conclusion text).
        conclusion_classes (Sequence[str], optional): Class names by label,
            exposed as :attr:`conclusion_classes`. Defaults to None.
        match_order (Sequence[str], optional): The order in which groups are
            tried (a clause goes to the first that matches), when it should
            differ from the description order, e.g. to let "the bronchi of
            both lungs" reach ``bronchi`` before the broad ``lungs`` rules.
            Defaults to None (description order).
        other (str): One of :data:`OTHER_POLICIES`. Defaults to 'previous'.
    """

    def __init__(self,
                 groups: Sequence[Tuple[str, Sequence[str]]],
                 language: str = 'en',
                 conclusion_templates: Optional[Mapping[int, str]] = None,
                 conclusion_keywords: Optional[Sequence[str]] = None,
                 conclusion_classes: Optional[Sequence[str]] = None,
                 match_order: Optional[Sequence[str]] = None,
                 other: str = 'previous') -> None:
        try:
            self.language = normalize_language(language)
        except ValueError as e:
            raise DatasetError(str(e)) from None
        if other not in OTHER_POLICIES:
            raise DatasetError(f'other must be one of {OTHER_POLICIES}, got '
                               f'{other!r}.')
        self.other = other
        groups = [tuple(g) for g in groups]
        if not groups or not all(len(g) == 2 and isinstance(g[0], str)
                                 for g in groups):
            raise DatasetError('groups must be a non-empty list of (name, '
                               f'[keywords...]) pairs, got {groups!r}.')
        names = [name for name, _ in groups]
        if len(set(names)) != len(names) or 'conclusion' in names:
            raise DatasetError(f'Group names must be unique and not '
                               f"'conclusion', got {names}.")
        self.description_names: Tuple[str, ...] = tuple(names)
        self._patterns: Dict[str, 're.Pattern'] = {
            name: _compile(words, f'Keywords of group {name!r}')
            for name, words in groups
        }
        order = list(names if match_order is None else match_order)
        if sorted(order) != sorted(names):
            raise DatasetError(f'match_order must list each group once, got '
                               f'{order} for groups {names}.')
        if conclusion_keywords:
            self._patterns['conclusion'] = _compile(conclusion_keywords,
                                                    'conclusion_keywords')
            order.insert(0, 'conclusion')
        self._order = tuple(order)
        self.conclusion_templates = None if conclusion_templates is None \
            else {int(k): str(v) for k, v in conclusion_templates.items()}
        self.conclusion_classes = None if conclusion_classes is None \
            else tuple(conclusion_classes)

    # ------------------------------------------------------------------
    def match(self, text: str) -> Optional[str]:
        """Return the first group (in match order) whose keyword is in text.

        Args:
            text (str): A piece or clause.

        Returns:
            str | None: A group name, ``'conclusion'``, or None.
        """
        for name in self._order:
            if self._patterns[name].search(text):
                return name
        return None

    def clauses(self, report: str) -> List[Tuple[str, Optional[str], int,
                                                  str]]:
        """Cut a report into clauses.

        Args:
            report (str): The report.

        Returns:
            list[tuple[str, str | None, int, str]]: ``(text, group or None,
            sentence index, separator before it in its sentence)``.
        """
        out: List[Tuple[str, Optional[str], int, str]] = []
        for s, sentence in enumerate(_cut(report,
                                          _SENTENCE_END[self.language])):
            for sep, piece in _pieces(sentence, _PIECE_SPLIT[self.language]):
                group = self.match(piece)
                if group is not None or not out or out[-1][2] != s:
                    out.append((piece, group, s, sep))
                else:  # a continuation of the clause before it
                    text, prev, _, first = out[-1]
                    out[-1] = (text + self._sep(sep) + piece, prev, s, first)
        return out

    def _sep(self, sep: str) -> str:
        """How a clause separator is written between two clauses."""
        sep = sep or _PUNCT[self.language][1].strip()
        return sep + ' ' if self.language == 'english' else sep

    def split(self, report: str, label: Optional[int] = None) -> ReportSplit:
        """Split one report.

        Args:
            report (str): The report.
            label (int, optional): Its class, for the conclusion template.
                Defaults to None.

        Returns:
            ReportSplit: Descriptions, conclusion and the matched clauses.

        Raises:
            ReportSplitError: With ``other='error'``, if a clause matches no
                group.
        """
        clauses = self.clauses(str(report))
        groups = self._resolve([c[1] for c in clauses], report)
        parts: Dict[str, List[Tuple[str, int, str]]] = {
            name: []
            for name in self.description_names + ('conclusion', )
        }
        for (text, _, sentence, sep), group in zip(clauses, groups):
            if group is not None:
                parts[group].append((text, sentence, sep))
        descriptions = [self._join(parts[n]) for n in self.description_names]
        conclusion = self._join(parts['conclusion'])
        if not conclusion and self.conclusion_templates is not None \
                and label is not None:
            conclusion = self.conclusion_templates.get(int(label), '')
        return ReportSplit(descriptions, conclusion,
                           [(c[0], c[1]) for c in clauses])

    __call__ = split

    def _resolve(self, groups: List[Optional[str]],
                 report: str) -> List[Optional[str]]:
        """Apply the ``other`` policy to the clauses without a group."""
        if None not in groups:
            return groups
        if self.other == 'error':
            raise ReportSplitError(
                f'No group matches a clause of report {report!r:.120}. Add '
                "a keyword to a group, or pass other='previous', 'last' or "
                "'drop'.")
        if self.other in ('drop', 'last'):
            fill = None if self.other == 'drop' \
                else self.description_names[-1]
            return [fill if g is None else g for g in groups]
        out, prev = list(groups), None
        for i, g in enumerate(groups):
            if g is None:
                nxt = next((x for x in groups[i:] if x is not None), None)
                g = prev or nxt or self.description_names[-1]
            out[i] = prev = g
        return out

    def _join(self, clauses: Sequence[Tuple[str, int, str]]) -> str:
        """Join clauses: within a sentence with its separator, else a stop."""
        if not clauses:
            return ''
        stop, _, end = _PUNCT[self.language]
        sentences: List[str] = []
        last = None
        for text, sentence, sep in clauses:
            if sentence != last or not sentences:
                sentences.append(text)
            else:
                sentences[-1] += self._sep(sep) + text
            last = sentence
        if self.language == 'english':
            sentences = [t[:1].upper() + t[1:] for t in sentences]
        return stop.join(sentences) + end

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(groups='
                f'{list(self.description_names)}, language='
                f'{self.language!r}, other={self.other!r})')


def _cut(text: str, regex: 're.Pattern') -> List[str]:
    """Split at ``regex``, strip the parts and drop the empty ones."""
    return [p.strip() for p in regex.split(text) if p.strip()]


def _pieces(sentence: str, regex: 're.Pattern') -> List[Tuple[str, str]]:
    """``(separator before, piece)`` of a sentence; ``regex`` captures."""
    out, sep = [], ''
    for i, part in enumerate(regex.split(sentence)):
        if i % 2:
            sep = part
        elif part.strip():
            out.append((sep, part.strip()))
            sep = ''
    return out

