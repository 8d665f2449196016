# Copyright (c) rrgkit contributors. All rights reserved.
"""Finding sampling, the tag vocabulary and the conclusion label.

A finding is a JSON-friendly dict::

    {'type': 'ground-glass opacity', 'side': 'bilateral',
     'location': 'peripheral', 'size': 'medium'}

``side`` is the patient's side (``'right'`` lung = image left, see
``phantom.py``). ``location`` is one of ``peripheral`` (lateral subpleural),
``anterior``/``posterior`` (subpleural), ``central`` (perihilar) for lung
lesions, always ``posterior`` for a pleural effusion and ``hilar`` for
lymphadenopathy.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

__all__ = [
    'FINDING_TYPES', 'LUNG_LESIONS', 'DEFAULT_LESION_MIX', 'ABNORMAL_TAGS',
    'NORMAL_TAGS', 'TAG_NAMES', 'LABEL_NAMES', 'resolve_lesion_mix',
    'sample_findings', 'findings_to_tags', 'tags_to_multihot',
    'conclusion_label'
]

GGO, CONSOLIDATION, NODULE = 'ground-glass opacity', 'consolidation', 'nodule'
EFFUSION, NODE = 'pleural effusion', 'lymphadenopathy'

#: Finding types, in the canonical order used for tags and reports.
FINDING_TYPES = (GGO, CONSOLIDATION, NODULE, EFFUSION, NODE)
#: Finding types drawn inside the lung parenchyma.
LUNG_LESIONS = (GGO, CONSOLIDATION, NODULE)
#: Default relative weight of each finding type.
DEFAULT_LESION_MIX = {GGO: 0.35, CONSOLIDATION: 0.2, NODULE: 0.2,
                      EFFUSION: 0.15, NODE: 0.1}

#: Abnormal tags: finding types, then side/extent tags.
ABNORMAL_TAGS = FINDING_TYPES + ('right lung', 'left lung', 'bilateral',
                                 'peripheral', 'central', 'large')
#: Normal tags: present when the matching structure has no finding.
NORMAL_TAGS = ('no abnormality', 'normal lungs', 'no effusion',
               'mediastinum normal')
#: The full ordered tag vocabulary (abnormal tags first).
TAG_NAMES = ABNORMAL_TAGS + NORMAL_TAGS
#: Names of the binary conclusion label (index = label value).
LABEL_NAMES = ('non-covid', 'covid-like')

SUBPLEURAL = ('peripheral', 'anterior', 'posterior')

# type -> (sides, side probs, locations, location probs, sizes, size probs)
_ATTRIBUTES = {
    GGO: (('right', 'left', 'bilateral'), (0.3, 0.25, 0.45),
          ('peripheral', 'posterior', 'anterior', 'central'),
          (0.45, 0.25, 0.1, 0.2),
          ('small', 'medium', 'large'), (0.3, 0.45, 0.25)),
    CONSOLIDATION: (('right', 'left', 'bilateral'), (0.35, 0.3, 0.35),
                    ('peripheral', 'posterior', 'anterior', 'central'),
                    (0.35, 0.35, 0.1, 0.2),
                    ('small', 'medium', 'large'), (0.35, 0.4, 0.25)),
    NODULE: (('right', 'left'), (0.5, 0.5),
             ('peripheral', 'posterior', 'anterior', 'central'),
             (0.35, 0.15, 0.15, 0.35),
             ('small', 'medium', 'large'), (0.5, 0.35, 0.15)),
    EFFUSION: (('right', 'left', 'bilateral'), (0.35, 0.3, 0.35),
               ('posterior', ), (1.0, ),
               ('small', 'medium', 'large'), (0.45, 0.35, 0.2)),
    NODE: (('right', 'left'), (0.5, 0.5), ('hilar', ), (1.0, ),
           ('medium', 'large'), (0.6, 0.4)),
}
_NUM_FINDINGS_PROBS = (0.5, 0.35, 0.15)  # 1, 2 or 3 findings


def resolve_lesion_mix(
        lesion_mix: Optional[Mapping[str, float]]) -> Dict[str, float]:
    """Validate a ``lesion_mix`` and fill it to all finding types.

    Args:
        lesion_mix (Mapping[str, float], optional): Relative weight per
            finding type; types left out get weight 0. ``None`` gives
            :data:`DEFAULT_LESION_MIX`.

    Returns:
        dict: A weight for every type in :data:`FINDING_TYPES` order.

    Raises:
        ValueError: On an unknown type, a negative weight or all-zero weights.
    """
    if lesion_mix is None:
        return dict(DEFAULT_LESION_MIX)
    unknown = sorted(set(lesion_mix) - set(FINDING_TYPES))
    if unknown:
        raise ValueError(f'lesion_mix has unknown finding type(s) {unknown}; '
                         f'use keys from {list(FINDING_TYPES)}.')
    mix = {t: float(lesion_mix.get(t, 0.0)) for t in FINDING_TYPES}
    if any(w < 0 or not np.isfinite(w) for w in mix.values()):
        raise ValueError(f'lesion_mix weights must be finite and >= 0, '
                         f'got {mix}.')
    if sum(mix.values()) <= 0:
        raise ValueError('lesion_mix needs at least one positive weight, '
                         f'got {mix}.')
    return mix


def _choice(rng: np.random.Generator, options: Sequence[str],
            probs: Sequence[float]) -> str:
    return options[int(rng.choice(len(options), p=probs))]


def sample_findings(rng: np.random.Generator, normal_fraction: float,
                    lesion_mix: Mapping[str, float]) -> List[dict]:
    """Sample the findings of one image.

    With probability ``normal_fraction`` the image is normal (no finding);
    otherwise it gets 1-3 findings of distinct types drawn by weight.

    Args:
        rng (np.random.Generator): The image's finding stream.
        normal_fraction (float): Share of normal images, in [0, 1].
        lesion_mix (Mapping[str, float]): Resolved weights (see
            :func:`resolve_lesion_mix`).

    Returns:
        list[dict]: Findings in :data:`FINDING_TYPES` order.
    """
    if rng.random() < normal_fraction:
        return []
    types = [t for t in FINDING_TYPES if lesion_mix[t] > 0]
    weights = np.array([lesion_mix[t] for t in types], dtype=float)
    n = 1 + int(rng.choice(3, p=_NUM_FINDINGS_PROBS))
    n = min(n, len(types))
    picked = rng.choice(len(types), size=n, replace=False,
                        p=weights / weights.sum())
    findings = []
    for t in sorted((types[i] for i in picked), key=FINDING_TYPES.index):
        sides, p_side, locs, p_loc, sizes, p_size = _ATTRIBUTES[t]
        findings.append({'type': t, 'side': _choice(rng, sides, p_side),
                         'location': _choice(rng, locs, p_loc),
                         'size': _choice(rng, sizes, p_size)})
    return findings


def _lungs_involved(findings: Sequence[dict], types: Sequence[str]) -> set:
    sides = set()
    for f in findings:
        if f['type'] in types:
            sides |= ({'right', 'left'} if f['side'] == 'bilateral' else
                      {f['side']})
    return sides


def findings_to_tags(findings: Sequence[dict]) -> List[str]:
    """Tags of an image, in :data:`TAG_NAMES` order.

    Rules: a type tag per finding type present; ``right lung`` / ``left
    lung`` when a lung finding (any type except lymphadenopathy) involves
    that lung, ``bilateral`` when lung findings involve both lungs;
    ``peripheral`` / ``central`` from the location of GGO, consolidation and
    nodules (anterior/posterior subpleural count as peripheral); ``large``
    when any finding is large. Normal tags: ``no abnormality`` (no finding),
    ``normal lungs`` (no GGO/consolidation/nodule), ``no effusion``,
    ``mediastinum normal`` (no lymphadenopathy).

    Args:
        findings (Sequence[dict]): The image's findings.

    Returns:
        list[str]: Tag names present.
    """
    present = {f['type'] for f in findings}
    sides = _lungs_involved(findings, FINDING_TYPES[:4])
    if 'right' in sides:
        present.add('right lung')
    if 'left' in sides:
        present.add('left lung')
    if len(sides) == 2:
        present.add('bilateral')
    for f in findings:
        if f['type'] in LUNG_LESIONS:
            present.add('central' if f['location'] == 'central' else
                        'peripheral')
        if f['size'] == 'large':
            present.add('large')
    if not findings:
        present.add('no abnormality')
    if not present & set(LUNG_LESIONS):
        present.add('normal lungs')
    if EFFUSION not in present:
        present.add('no effusion')
    if NODE not in present:
        present.add('mediastinum normal')
    return [t for t in TAG_NAMES if t in present]


def tags_to_multihot(tags: Sequence[str]) -> np.ndarray:
    """Multi-hot ``int64`` vector over :data:`TAG_NAMES`.

    Raises:
        ValueError: On a tag outside the vocabulary.
    """
    unknown = [t for t in tags if t not in TAG_NAMES]
    if unknown:
        raise ValueError(f'Unknown tag(s) {unknown}; the vocabulary is '
                         f'{list(TAG_NAMES)}.')
    return np.array([int(t in tags) for t in TAG_NAMES], dtype=np.int64)


def conclusion_label(findings: Sequence[dict]) -> int:
    """The binary "COVID-like pattern" conclusion.

    Rule: 1 when there is ground-glass opacity and/or consolidation AND
    those GGO/consolidation findings either involve both lungs or at least
    one of them is subpleural (peripheral, anterior or posterior).
    Otherwise 0 (normal; nodule, effusion or lymphadenopathy only; or a
    single central GGO/consolidation).

    Args:
        findings (Sequence[dict]): The image's findings.

    Returns:
        int: 1 for ``covid-like``, 0 for ``non-covid``.
    """
    patchy = [f for f in findings if f['type'] in (GGO, CONSOLIDATION)]
    if not patchy:
        return 0
    bilateral = len(_lungs_involved(patchy, (GGO, CONSOLIDATION))) == 2
    subpleural = any(f['location'] in SUBPLEURAL for f in patchy)
    return int(bilateral or subpleural)
