# Copyright (c) rrgkit contributors. All rights reserved.
"""Diagnostic conclusion of a (generated) report by ordered keyword rules.

MDNet (Zhang et al., CVPR 2017) scores a report generator by its
*diagnostic conclusion accuracy* (DCA): the conclusion read from the
generated text must equal the image's label. :class:`ConclusionExtractor`
reads it in three steps, the first that decides wins:

1. **Explicit conclusion sentences** (``conclusions``, one template per
   class): matched case-insensitively with any spacing, so tokenised model
   output (``'no evidence of covid-19 pneumonia .'``, ``'未 见 新 型 …'``)
   matches too; a template right after a negation cue ("not", "不") is
   skipped. Templates of two different classes in one text contradict each
   other: the result is :data:`UNDETERMINED`.
2. **Ordered rules** ``(class_index, patterns)``: the first rule (in list
   order) with a matching pattern fires. By default a match counts only when
   it is *affirmed*: it is not in the scope of a negation cue
   (:mod:`rrgkit.datasets.tags.negation`, NegEx-style, per clause), so "no
   abnormal density shadow" does not fire a rule on "abnormal density". A
   rule given as ``dict(label=0, patterns=[...], when='negated')`` fires on
   negated matches instead ("no evidence of covid" -> 0); ``when='any'``
   ignores negation.
3. Nothing fired: ``default``, or :data:`UNDETERMINED` (``-1``) when
   ``default`` is None. An empty text is always :data:`UNDETERMINED`.

Patterns are plain keywords or regexes (``re.Pattern`` objects or strings
starting with ``'re:'``). English keywords match case-insensitively at the
start of a word, with any run of spaces or hyphens between their words
(``'ground glass'`` matches "ground-glass", "Ground glass" and
"ground - glass"; ``'nodul'`` matches "nodule" and "nodular"). Chinese
keywords match characters (no word segmentation). Regexes see the
normalised clause (lower case; Chinese without whitespace).

English model output is often cleaned of commas (``clean_report_en`` keeps
only ``.``), so one clause can hold a whole report; ``negation_window``
caps a negation's scope at that many words (NegEx uses about 5) so that
"no enlarged lymph nodes were seen ... a ground glass shadow was seen" still
affirms the ground glass.

Presets (:data:`CONCLUSION_PRESETS`, :meth:`ConclusionExtractor.from_preset`):
``'covctr_en'`` and ``'covctr_zh'``, class 1 = COVID-19, class 0 = not
COVID-19 (normal *or another disease*: the non-COVID CTs of COV-CTR include
other pneumonias). COV-CTR reports have no conclusion sentence, so after the
templates (:data:`COVCTR_CONCLUSIONS`, which an MDNet-style model is trained
to write) and explicit mentions of COVID-19, the rules read the findings:
findings atypical of COVID-19 (nodules, cavities, masses, calcification,
enlarged lymph nodes, reticulation, low-density/gas areas, pleural
thickening, fibrous strands) give 0, then its typical findings (ground-glass
opacity, consolidation, patchy shadows, halo, crazy paving, thickened
vessels) give 1, and anything else gives 0. On the reference reports of the
rrgkit COV-CTR split they recover the label for about 78% of the images
(English and Chinese alike; see the tests): many non-COVID reports describe
subpleural ground glass too, so the findings alone cannot do much better.
"""
import re
from dataclasses import dataclass
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from rrgkit.datasets.tags.negation import (clip_scopes, find_negations,
                                           is_negated, normalize_language,
                                           split_clauses)
from .conclusion_presets import (CONCLUSION_PRESETS, COVCTR_CLASS_NAMES,
                                 COVCTR_CONCLUSIONS)

__all__ = [
    'UNDETERMINED', 'CONCLUSION_PRESETS', 'COVCTR_CONCLUSIONS',
    'COVCTR_CLASS_NAMES', 'ConclusionMatch', 'ConclusionExtractor',
    'build_conclusion_extractor', 'keyword_regex', 'sentence_regex'
]

#: Returned when no conclusion can be read (counted as wrong by DCA).
UNDETERMINED = -1
_WHEN = ('affirmed', 'negated', 'any')
# A cue right before a template negates it ("不考虑新型冠状病毒肺炎").
_NEGATED_TEMPLATE = {
    'english': re.compile(r"(?:\b(?:no|not|without|never|nor|neither)|"
                          r"n't)\s*$", re.IGNORECASE),
    'chinese': re.compile(r'(?:不|未|无|没有|非|否)\s*$'),
}
Pattern = Union[str, 're.Pattern']

@dataclass(frozen=True)
class ConclusionMatch:
    """Why a text got its class (see :meth:`ConclusionExtractor.explain`).

    Args:
        label (int): The class, or :data:`UNDETERMINED` for contradictory
            conclusion sentences.
        source (str): ``'conclusion'`` (a template), ``'conflict'``
            (templates of several classes) or ``'rule'``.
        rule (int, optional): Index of the rule that fired.
        matched (str): The matched text (normalised for rules).
    """
    label: int
    source: str
    rule: Optional[int]
    matched: str


def keyword_regex(keyword: Pattern, language: str = 'en') -> 're.Pattern':
    """Compile one rule pattern (see the module docstring).

    Args:
        keyword (str | re.Pattern): A keyword, ``'re:<regex>'`` or a
            compiled regex (used as is).
        language (str): 'en' / 'zh' (or 'english' / 'chinese').
            Defaults to 'en'.

    Returns:
        re.Pattern: A case-insensitive pattern.
    """
    if isinstance(keyword, re.Pattern):
        return keyword
    if not isinstance(keyword, str) or not keyword.strip():
        raise ValueError(f'A conclusion pattern must be a non-empty string '
                         f'or re.Pattern, got {keyword!r}')
    if keyword.startswith('re:'):
        return re.compile(keyword[3:], re.IGNORECASE)
    if normalize_language(language) == 'chinese':
        return re.compile(re.escape(''.join(keyword.lower().split())))
    words = [w for w in re.split(r'[\s\-]+', keyword.lower()) if w]
    body = r'[\s\-]*'.join(re.escape(w) for w in words)
    start = r'(?<![a-z0-9])' if re.match(r'\w', words[0]) else ''
    return re.compile(start + body, re.IGNORECASE)


def sentence_regex(sentence: str) -> 're.Pattern':
    """A regex matching ``sentence`` with any spacing and case.

    Final punctuation is optional, and a Latin/digit first character must
    not continue a word ("no evidence" does not match inside "piano
    evidence").

    Args:
        sentence (str): E.g. a conclusion template.

    Returns:
        re.Pattern: The pattern.
    """
    chars = [c for c in sentence.strip().rstrip('.。!！?？;；') if not c.isspace()]
    if not chars:
        raise ValueError(f'Empty conclusion sentence {sentence!r}')
    body = r'\s*'.join(re.escape(c) for c in chars)
    start = r'(?<![a-z0-9])' if re.match(r'[a-z0-9]', chars[0], re.I) else ''
    return re.compile(start + body + r'(?:\s*[.。!！?？;；])?', re.IGNORECASE)


class ConclusionExtractor:
    """Read a diagnostic class from report text by ordered keyword rules.

    See the module docstring for the matching rules.

    Args:
        rules (Sequence): Ordered rules; each is ``(class_index, patterns)``
            or ``dict(label=class_index, patterns=[...], when='affirmed')``
            with ``when`` one of ``'affirmed'`` (default), ``'negated'``,
            ``'any'``. Class indices are ints >= 0.
        default (int, optional): Class when nothing fires; None gives
            :data:`UNDETERMINED`. Defaults to None.
        language (str): 'en' or 'zh' (or 'english' / 'chinese').
            Defaults to 'en'.
        conclusions (Mapping[int, str], optional): Explicit conclusion
            sentence per class; found anywhere in the text, they win over
            the rules. Defaults to None.
        conclusion_words (Sequence[str]): Words that state the conclusion
            itself (e.g. "covid-19"); not used for extraction, but removed
            from retrieval queries by
            :func:`rrgkit.evaluation.functional.strip_conclusion`.
            Defaults to ().
        negation_window (int, optional): Largest negation scope in words
            (characters for Chinese); None keeps the clause-long scope of
            :mod:`~rrgkit.datasets.tags.negation`. Defaults to None.
        class_names (Mapping[int, str], optional): Names for reports and
            metric keys. Defaults to None.
    """

    def __init__(self,
                 rules: Sequence[Any] = (),
                 default: Optional[int] = None,
                 language: str = 'en',
                 conclusions: Optional[Mapping[int, str]] = None,
                 conclusion_words: Sequence[str] = (),
                 negation_window: Optional[int] = None,
                 class_names: Optional[Mapping[int, str]] = None) -> None:
        self.language = normalize_language(language)
        self.rules: List[Tuple[int, List['re.Pattern'], str]] = [
            self._parse_rule(i, rule) for i, rule in enumerate(rules)
        ]
        self.conclusions: Dict[int, str] = {
            _check_label(k, 'conclusions'): str(v)
            for k, v in dict(conclusions or {}).items()
        }
        if not self.rules and not self.conclusions:
            raise ValueError('ConclusionExtractor needs rules or conclusions '
                             '(or use ConclusionExtractor.from_preset(name) '
                             f'with one of {sorted(CONCLUSION_PRESETS)})')
        self._sentences = {k: sentence_regex(v)
                           for k, v in self.conclusions.items()}
        self.default = None if default is None else _check_label(
            default, 'default')
        if isinstance(conclusion_words, str):
            conclusion_words = [conclusion_words]
        self.conclusion_words = [str(w) for w in conclusion_words]
        if negation_window is not None and int(negation_window) < 1:
            raise ValueError(f'negation_window must be >= 1 or None, got '
                             f'{negation_window}')
        self.negation_window = negation_window
        self.class_names = {int(k): str(v)
                            for k, v in dict(class_names or {}).items()}

    @classmethod
    def from_preset(cls, name: str, **overrides) -> 'ConclusionExtractor':
        """Build a preset (:data:`CONCLUSION_PRESETS`), e.g. 'covctr_en'.

        Args:
            name (str): The preset name.
            **overrides: Constructor arguments replacing the preset's.

        Returns:
            ConclusionExtractor: The extractor.
        """
        if name not in CONCLUSION_PRESETS:
            raise KeyError(f'Unknown conclusion preset {name!r}; available: '
                           f'{sorted(CONCLUSION_PRESETS)}')
        return cls(**{**CONCLUSION_PRESETS[name], **overrides})

    @property
    def undetermined(self) -> int:
        """What an undecided text gets: ``default`` or UNDETERMINED."""
        return UNDETERMINED if self.default is None else self.default

    def __call__(self, text: str) -> int:
        return self.extract(text)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(language={self.language!r}, '
                f'rules={len(self.rules)}, conclusions='
                f'{sorted(self.conclusions)}, default={self.default})')

    def extract(self, text: str) -> int:
        """The class of ``text``.

        Args:
            text (str): A (generated or reference) report.

        Returns:
            int: The class index; ``default`` when nothing fires and
            :data:`UNDETERMINED` for empty text or contradictory conclusion
            sentences.
        """
        if not str(text).strip():
            return UNDETERMINED
        match = self.explain(text)
        return self.undetermined if match is None else match.label

    def extract_batch(self, texts: Sequence[str]) -> List[int]:
        """:meth:`extract` of each text."""
        return [self.extract(t) for t in texts]

    def explain(self, text: str) -> Optional[ConclusionMatch]:
        """What decided the class of ``text``; None when nothing fired.

        Args:
            text (str): The report.

        Returns:
            ConclusionMatch, optional: The deciding template or rule.
        """
        if not isinstance(text, str):
            raise TypeError(f'ConclusionExtractor expects a str report, got '
                            f'{type(text).__name__}')
        found = {}
        negator = _NEGATED_TEMPLATE[self.language]
        for label, regex in self._sentences.items():
            for hit in regex.finditer(text):
                if not negator.search(text[max(0, hit.start() - 12):
                                           hit.start()]):
                    found[label] = hit.group()
                    break
        if len(found) > 1:
            return ConclusionMatch(UNDETERMINED, 'conflict', None,
                                   ' | '.join(found.values()))
        if found:
            (label, matched), = found.items()
            return ConclusionMatch(label, 'conclusion', None, matched)
        clauses = [(c.text, None) for c in split_clauses(text, self.language)]
        for index, (label, patterns, when) in enumerate(self.rules):
            for i, (clause, cues) in enumerate(clauses):
                for regex in patterns:
                    for hit in regex.finditer(clause):
                        if when != 'any':
                            if cues is None:
                                cues = self._cues(clause)
                                clauses[i] = (clause, cues)
                            negated = is_negated(hit.span(), cues)
                            if negated != (when == 'negated'):
                                continue
                        return ConclusionMatch(label, 'rule', index,
                                               hit.group())
        return None

    def _cues(self, clause: str) -> list:
        return clip_scopes(find_negations(clause, self.language), clause,
                           self.negation_window, self.language)

    def _parse_rule(self, index: int, rule: Any):
        where = f'rules[{index}]'
        if isinstance(rule, Mapping):
            unknown = set(rule) - {'label', 'patterns', 'when'}
            if unknown or 'label' not in rule or 'patterns' not in rule:
                raise ValueError(f'{where} must have keys label, patterns '
                                 f'(and optional when), got {sorted(rule)}')
            label, patterns = rule['label'], rule['patterns']
            when = rule.get('when', 'affirmed')
        elif isinstance(rule, (tuple, list)) and len(rule) == 2:
            (label, patterns), when = rule, 'affirmed'
        else:
            raise ValueError(f'{where} must be (class_index, patterns) or a '
                             f'dict(label=..., patterns=...), got {rule!r}')
        if when not in _WHEN:
            raise ValueError(f'{where}: when={when!r} is not one of {_WHEN}')
        if isinstance(patterns, (str, re.Pattern)):
            patterns = [patterns]
        if not patterns:
            raise ValueError(f'{where} has no patterns')
        return (_check_label(label, where),
                [keyword_regex(p, self.language) for p in patterns], when)


def _check_label(label: Any, where: str) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) \
            or label < 0:
        raise ValueError(f'{where}: class index must be an int >= 0 '
                         f'(-1 is reserved for undetermined), got {label!r}')
    return int(label)


def build_conclusion_extractor(
        cfg: Union[ConclusionExtractor, str, Mapping]) -> ConclusionExtractor:
    """An extractor from an instance, a preset name or a config dict.

    Args:
        cfg (ConclusionExtractor | str | Mapping): ``'covctr_en'``,
            ``dict(preset='covctr_zh', default=None)`` (a preset with
            overrides) or the constructor arguments
            (``dict(rules=[...], language='en')``).

    Returns:
        ConclusionExtractor: The extractor.
    """
    if isinstance(cfg, ConclusionExtractor):
        return cfg
    if isinstance(cfg, str):
        return ConclusionExtractor.from_preset(cfg)
    if not isinstance(cfg, Mapping):
        raise TypeError('extractor must be a ConclusionExtractor, a preset '
                        f'name or a dict, got {type(cfg).__name__}')
    cfg = dict(cfg)
    if 'preset' in cfg:
        return ConclusionExtractor.from_preset(cfg.pop('preset'), **cfg)
    return ConclusionExtractor(**cfg)
