# Copyright (c) rrgkit contributors. All rights reserved.
"""Clause splitting and NegEx-style negation detection (English, Chinese).

The algorithm, after NegEx (Chapman et al., 2001), simplified to the short
declarative sentences of radiology findings:

1. **Normalise** (:func:`normalize_text`): English is lower-cased with
   whitespace collapsed; Chinese loses its whitespace (and Latin letters
   are lower-cased).
2. **Split into clauses** (:func:`split_clauses`) at punctuation: English
   ``, ; : . ! ?`` (a ``.`` between digits, as in "1.5 cm", is kept) and
   Chinese ``，,；;：:。！？`` plus their ASCII forms. The enumeration comma
   ``、`` does not split, so "未见胸腔积液、心包积液" stays one clause. A
   *sentence* ends at ``. ; ! ?`` / ``。；！？``; sentences are used to attach
   locations to lesions (see :mod:`.miner`).
3. **Find cues** in each clause (:func:`find_negations`):

   * *pre-negation* cues negate what follows them. English: ``no``, ``not``,
     ``n't``, ``without``, ``absence of``, ``free of``, ``negative for``,
     ``neither``, ``nor``, ``none``, ``never``. Chinese: ``未见``,
     ``未发现``, ``未显示``, ``未``, ``没有``, ``无``, ``不``, ``否认``.
   * *post-negation* cues negate what precedes them. English: ``absent``,
     ``ruled out``, ``excluded``, ``resolved``, ``disappeared``, ``not
     seen/found/observed/detected/visible/present/identified/noted/shown``.
     Chinese: ``消失``, ``不明显``.
   * *pseudo-negations* look like cues but are not, and are skipped:
     English "not only", "no change", "cannot be excluded/ruled out";
     Chinese words that merely contain 不/无/未: 边缘**不**清 (ill-defined),
     密度**不**均 (uneven), **不**规则, **不**整, 大小**不**等, 显示**不**良,
     骨质**不**连续 (fracture), 肺**不**张 (atelectasis), **不**典型,
     **不**除外 (cannot exclude), **无**纹理透光区 (pneumothorax),
     未见明显变化.

4. **Scope**: a pre-cue's scope runs from the end of the cue to the first
   scope terminator after it or the end of the clause; a post-cue's scope
   runs back to the last terminator before it or the start of the clause.
   Terminators are the conjunctions English ``and``, ``but``, ``however``,
   ``although``, ``though``, ``while``, ``whereas``, ``except``, ``apart
   from``, ``which``, ``yet`` and Chinese ``但``, ``但是``, ``然而``, ``而``,
   ``伴``, ``伴有``, ``另见``, ``并见``. So in "no enlarged lymph nodes in
   the mediastinum and small nodules in the lower lobe" the nodules are
   affirmed. The price: "no X and Y" affirms Y (never seen in COV-CTR).
   Optionally (:func:`clip_scopes`) a scope is capped at a number of words
   (characters for Chinese), for text that lost its clause punctuation.
5. **A match is negated** when its span *overlaps* a scope
   (:func:`is_negated`). Overlap rather than containment lets one pattern
   span its own cue: "肺门不大" and "the hilum was not large" are the
   negated form of *hilar enlargement*, "胸廓不对称" of *thorax
   symmetrical*.
"""
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

__all__ = [
    'LANGUAGES', 'Clause', 'NegationCue', 'normalize_language',
    'normalize_text', 'split_clauses', 'find_negations', 'clip_scopes',
    'is_negated'
]

LANGUAGES = ('english', 'chinese')
_ALIASES = {
    'english': 'english', 'en': 'english', 'eng': 'english',
    'chinese': 'chinese', 'zh': 'chinese', 'cn': 'chinese', 'zh-cn': 'chinese',
    'zh_cn': 'chinese'
}

_DOT = r'(?<!\d)\.|\.(?!\d)'
_CLAUSE_SPLIT = {
    'english': re.compile(r'[,;:!?\n]|' + _DOT),
    'chinese': re.compile(r'[，,；;：:。！!？?\n]|' + _DOT),
}
_SENTENCE_END = {
    'english': re.compile(r'[;!?\n]|' + _DOT),
    'chinese': re.compile(r'[。；;！!？?\n]|' + _DOT),
}
_PRE = {
    'english': re.compile(
        r"\b(?:no|not|without|absence of|free of|negative for|neither|nor|"
        r"none|never)\b|n't\b"),
    'chinese': re.compile(r'未见|未发现|未显示|没有|否认|未|无|不'),
}
_POST = {
    'english': re.compile(
        r'\b(?:absent|ruled out|excluded|resolved|disappeared|not (?:been )?'
        r'(?:seen|found|observed|detected|visible|present|identified|noted|'
        r'shown))\b'),
    'chinese': re.compile(r'消失|不明显'),
}
_PSEUDO = {
    'english': re.compile(
        r'\b(?:not only|no (?:significant |obvious |interval )?(?:change|'
        r'increase)|(?:cannot|can not|not|could not) be (?:excluded|'
        r'ruled out)|not (?:excluded|ruled out)|whether or not)\b'),
    'chinese': re.compile(
        r'不(?:清|均|规|整|等|良|连续|张|全|完|齐|一|同|典型|除外|能除外|能排除)|'
        r'无纹理|未见明显变化'),
}
_TERMINATORS = {
    'english': re.compile(
        r'\b(?:and|but|however|although|though|while|whereas|except|'
        r'apart from|which|yet)\b'),
    'chinese': re.compile(r'但是|但|然而|而|伴有|伴|另见|并见'),
}


@dataclass(frozen=True)
class Clause:
    """One clause of a normalised report.

    Args:
        text (str): The clause, without its delimiter.
        start (int): Offset of ``text`` in the normalised report.
        index (int): Clause number in the report.
        sentence (int): Sentence number in the report.
    """
    text: str
    start: int
    index: int
    sentence: int


@dataclass(frozen=True)
class NegationCue:
    """A negation cue and its scope, as offsets in one clause.

    Args:
        cue (str): The cue text.
        start (int): Cue start.
        end (int): Cue end.
        scope (tuple[int, int]): ``[start, end)`` of the negated text.
        direction (str): 'forward' (pre-negation) or 'backward' (post).
    """
    cue: str
    start: int
    end: int
    scope: Tuple[int, int]
    direction: str


def normalize_language(language: str) -> str:
    """Map a language name or code to 'english' or 'chinese'.

    Args:
        language (str): e.g. 'english', 'en', 'chinese', 'zh'.

    Returns:
        str: 'english' or 'chinese'.

    Raises:
        ValueError: For any other value.
    """
    key = str(language).strip().lower()
    if key not in _ALIASES:
        raise ValueError(f'Unknown language {language!r}; use one of '
                         f"{LANGUAGES} (or 'en' / 'zh').")
    return _ALIASES[key]


def normalize_text(text: str, language: str) -> str:
    """Normalise a report for matching (see the module docstring).

    Args:
        text (str): The report.
        language (str): 'english' or 'chinese' (or an alias).

    Returns:
        str: The normalised text.
    """
    language = normalize_language(language)
    text = text.replace('\u201c', '"').replace('\u201d', '"')
    text = text.replace('\u2018', "'").replace('\u2019', "'").lower()
    if language == 'english':
        return re.sub(r'[ \t\r\f\v\u3000]+', ' ', text).strip()
    return re.sub(r'[ \t\r\f\v\u3000]+', '', text).strip()


def split_clauses(report: str, language: str) -> List[Clause]:
    """Normalise ``report`` and split it into clauses.

    Args:
        report (str): The report.
        language (str): 'english' or 'chinese' (or an alias).

    Returns:
        list[Clause]: Non-empty clauses, in order.
    """
    language = normalize_language(language)
    text = normalize_text(report, language)
    clauses, start, sentence = [], 0, 0
    for match in list(_CLAUSE_SPLIT[language].finditer(text)) + [None]:
        end = len(text) if match is None else match.start()
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            offset = start + piece.index(stripped)
            clauses.append(Clause(stripped, offset, len(clauses), sentence))
        if match is not None:
            if _SENTENCE_END[language].fullmatch(match.group()):
                sentence += 1
            start = match.end()
    return clauses


def _spans(regex: 're.Pattern', text: str) -> List[Tuple[int, int]]:
    return [m.span() for m in regex.finditer(text)]


def find_negations(clause: str, language: str) -> List[NegationCue]:
    """Negation cues of one (normalised) clause, with their scopes.

    Args:
        clause (str): One clause, as in :attr:`Clause.text`.
        language (str): 'english' or 'chinese' (or an alias).

    Returns:
        list[NegationCue]: In order of the cue position.
    """
    language = normalize_language(language)
    pseudo = _spans(_PSEUDO[language], clause)
    stops = _spans(_TERMINATORS[language], clause)

    def is_pseudo(span):
        return any(s < span[1] and span[0] < e for s, e in pseudo)

    cues = []
    for match in _PRE[language].finditer(clause):
        if is_pseudo(match.span()):
            continue
        end = min([s for s, _ in stops if s >= match.end()] + [len(clause)])
        cues.append(
            NegationCue(match.group(), match.start(), match.end(),
                        (match.end(), end), 'forward'))
    for match in _POST[language].finditer(clause):
        if is_pseudo(match.span()):
            continue
        begin = max([e for _, e in stops if e <= match.start()] + [0])
        cues.append(
            NegationCue(match.group(), match.start(), match.end(),
                        (begin, match.start()), 'backward'))
    return sorted(cues, key=lambda c: (c.start, c.direction))


def clip_scopes(cues: Sequence[NegationCue], clause: str,
                window: Optional[int], language: str) -> List[NegationCue]:
    """Cap each cue's scope at ``window`` words (characters for Chinese).

    Text cleaned of its commas (model output) can hold a whole report in
    one clause, where a clause-long scope would negate everything after a
    "no"; NegEx caps scopes at about 5 words for the same reason.

    Args:
        cues (Sequence[NegationCue]): From :func:`find_negations`.
        clause (str): The clause they were found in.
        window (int, optional): Largest scope; None keeps the scopes.
        language (str): 'english' or 'chinese' (or an alias).

    Returns:
        list[NegationCue]: The cues with clipped scopes.
    """
    if window is None:
        return list(cues)
    if int(window) < 1:
        raise ValueError(f'A negation window must be >= 1 or None, got '
                         f'{window}')
    chinese = normalize_language(language) == 'chinese'
    clipped = []
    for cue in cues:
        start, end = cue.scope
        if cue.direction == 'forward':
            end = min(end, _offset_after(clause, start, window, chinese))
        else:
            start = max(start, _offset_before(clause, end, window, chinese))
        clipped.append(NegationCue(cue.cue, cue.start, cue.end,
                                   (start, end), cue.direction))
    return clipped


def _offset_after(clause: str, start: int, n: int, chinese: bool) -> int:
    if chinese:
        return start + n
    words = list(re.finditer(r'\S+', clause[start:]))
    return len(clause) if len(words) <= n else start + words[n - 1].end()


def _offset_before(clause: str, end: int, n: int, chinese: bool) -> int:
    if chinese:
        return max(0, end - n)
    words = list(re.finditer(r'\S+', clause[:end]))
    return 0 if len(words) <= n else words[-n].start()


def is_negated(span: Tuple[int, int], cues: Sequence[NegationCue]) -> bool:
    """Whether a match overlaps the scope of any cue.

    Args:
        span (tuple[int, int]): ``[start, end)`` of a match in the clause.
        cues (Sequence[NegationCue]): From :func:`find_negations`.

    Returns:
        bool: True when negated.
    """
    start, end = span
    return any(c.scope[0] < end and start < c.scope[1] for c in cues)
