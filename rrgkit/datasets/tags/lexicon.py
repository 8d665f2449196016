# Copyright (c) rrgkit contributors. All rights reserved.
"""Curated chest-CT terminology: surface forms -> canonical tags.

The default lexicon (:mod:`.default_lexicon`) was written by reading the
COV-CTR training reports (``shared/data/covctr/annotation.json``): the
Chinese findings and their machine-translated English versions, typos
included (``胸模下`` for ``胸膜下``, "plethysmograph" for "under the
pleura", "doors of both lungs" for the hila). Tag names are canonical
English in both languages, so an English and a Chinese vocabulary can be
compared tag by tag.

Every tag has a ``kind`` (``'abnormal'`` or ``'normal'``) and a
``category``:

* ``lesion``: a parenchymal finding; it *anchors* location tags.
* ``finding``: another abnormal finding that names its own site.
* ``attribute``: a lesion descriptor (margin, density, multiplicity).
* ``location``: emitted only next to an affirmed lesion (in the same
  clause, or in a clause of the same sentence that matched nothing but
  locations and attributes, e.g. "双肺下叶为著"), so the "both lungs" of
  "the texture of both lungs was clear" is not a tag.
* ``normal``: a normal finding.

A :class:`TagTerm` maps regular expressions (matched per clause on the
lower-cased English or the Chinese text) to ``tag`` when affirmed and to
``negated_tag`` when negated (see :mod:`.negation`). Either may be None:
"no abnormal density shadow in the thoracic cavity" only means something
negated (``no pleural effusion``). A negated term with no ``negated_tag``
emits nothing.
"""
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['TagInfo', 'TagTerm', 'Lexicon', 'KINDS', 'CATEGORIES']

KINDS = ('abnormal', 'normal')
CATEGORIES = ('lesion', 'finding', 'attribute', 'location', 'normal')


@dataclass(frozen=True)
class TagInfo:
    """A canonical tag.

    Args:
        name (str): Canonical (English) name.
        kind (str): 'abnormal' or 'normal'.
        category (str): One of :data:`CATEGORIES`.
        chinese (str): Chinese display name. Defaults to ''.
    """
    name: str
    kind: str
    category: str
    chinese: str = ''


@dataclass(frozen=True)
class TagTerm:
    """Surface forms of one concept.

    Args:
        tag (str, optional): Tag emitted when a form is affirmed.
        english (tuple[str]): Regexes over lower-cased English clauses.
        chinese (tuple[str]): Regexes over Chinese clauses.
        negated_tag (str, optional): Tag emitted when a form is negated.
    """
    tag: Optional[str]
    english: Tuple[str, ...] = ()
    chinese: Tuple[str, ...] = ()
    negated_tag: Optional[str] = None


class Lexicon:
    """Tags plus the terms that produce them, checked and compiled.

    Args:
        tags (Sequence[TagInfo]): The tags, in a meaningful order (it
            breaks count ties when a vocabulary is mined).
        terms (Sequence[TagTerm]): The terms.

    Raises:
        ValueError: On an unknown kind, category or tag name, a duplicate
            tag, or a pattern that does not compile.
    """

    def __init__(self, tags: Sequence[TagInfo],
                 terms: Sequence[TagTerm]) -> None:
        self.tags: Dict[str, TagInfo] = {}
        for info in tags:
            if info.name in self.tags:
                raise ValueError(f'Lexicon lists tag {info.name!r} twice.')
            if info.kind not in KINDS or info.category not in CATEGORIES:
                raise ValueError(
                    f'Tag {info.name!r}: kind must be one of {KINDS} and '
                    f'category one of {CATEGORIES}, got {info.kind!r}, '
                    f'{info.category!r}.')
            self.tags[info.name] = info
        self.terms: List[TagTerm] = list(terms)
        self._compiled: Dict[str, list] = {'english': [], 'chinese': []}
        for term in self.terms:
            for name in (term.tag, term.negated_tag):
                if name is not None and name not in self.tags:
                    raise ValueError(f'Term {term} names tag {name!r}, which '
                                     'the lexicon does not define.')
            for language in ('english', 'chinese'):
                for pattern in getattr(term, language):
                    try:
                        regex = re.compile(pattern)
                    except re.error as err:
                        raise ValueError(f'Bad {language} pattern '
                                         f'{pattern!r} of tag {term.tag!r}: '
                                         f'{err}') from None
                    self._compiled[language].append((term, regex))

    def patterns(self, language: str) -> List[Tuple[TagTerm, 're.Pattern']]:
        """``(term, compiled regex)`` pairs of one language.

        Args:
            language (str): 'english' or 'chinese'.

        Returns:
            list[tuple[TagTerm, re.Pattern]]: In term order.
        """
        return self._compiled[language]

    def to_dict(self) -> dict:
        """JSON-able form, loadable with :meth:`from_dict`."""
        return dict(tags=[asdict(t) for t in self.tags.values()],
                    terms=[asdict(t) for t in self.terms])

    @classmethod
    def from_dict(cls, data: dict) -> 'Lexicon':
        """Build a lexicon from :meth:`to_dict` output.

        Args:
            data (dict): ``{"tags": [{name, kind, category, chinese}],
                "terms": [{tag, english, chinese, negated_tag}]}``.

        Returns:
            Lexicon: The lexicon.
        """
        if not isinstance(data, dict) or not {'tags', 'terms'} <= set(data):
            raise ValueError('A lexicon must be a JSON object with "tags" and '
                             '"terms" lists (see Lexicon.to_dict()).')
        try:
            tags = [TagInfo(**t) for t in data['tags']]
            terms = [
                TagTerm(tag=t.get('tag'),
                        english=tuple(t.get('english', ())),
                        chinese=tuple(t.get('chinese', ())),
                        negated_tag=t.get('negated_tag'))
                for t in data['terms']
            ]
        except (TypeError, AttributeError) as err:
            raise ValueError(f'Malformed lexicon entry: {err}.') from None
        return cls(tags, terms)

    @classmethod
    def from_json(cls, path: str) -> 'Lexicon':
        """Read a lexicon saved as JSON (:meth:`to_dict` form).

        Args:
            path (str): The JSON file.

        Returns:
            Lexicon: The lexicon.

        Raises:
            ValueError: If the file is missing, not JSON or malformed.
        """
        try:
            with open(path, encoding='utf-8-sig') as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f'cannot read lexicon {path!r}: {err}') from None
        return cls.from_dict(data)

    def fingerprint(self) -> str:
        """SHA-256 of the lexicon's canonical JSON (changes with any edit)."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()
