# Copyright (c) rrgkit contributors. All rights reserved.
"""COV-CTR-style English and Chinese reports written from findings.

A report has three sentences -- thorax/mediastinum, lungs, bronchi/pleura --
and sometimes a conclusion. Each sentence has several templates picked by
the RNG with a strong bias towards the first one, so normal sentences are
frequent and repeated while abnormal ones are rarer and varied (the data
bias the ASGK paper targets). Every English mention of a finding contains
the words in :data:`FINDING_WORDS`; normal reports never use them outside a
negation (``no ...``).
"""
from typing import List, Sequence, Tuple

import numpy as np

from .findings import (CONSOLIDATION, EFFUSION, FINDING_TYPES, GGO,
                       LUNG_LESIONS, NODE, NODULE)

__all__ = ['FINDING_WORDS', 'write_reports']

#: A phrase every English report uses for each finding type it describes.
FINDING_WORDS = {GGO: 'ground glass', CONSOLIDATION: 'consolidation',
                 NODULE: 'nodule', EFFUSION: 'pleural effusion',
                 NODE: 'enlarged lymph node'}

CONCLUSION_PROB = 0.25
PAST_TENSE_PROB = 0.7

# Noun phrases per type and size: (options, probs); an option is
# (singular-or-plural phrase, is_plural).
_NP = {
    GGO: {'small': ((('small patchy ground glass opacities', True),
                     ('a small ground glass shadow', False)), (0.7, 0.3)),
          'medium': ((('patchy ground glass opacities', True),
                      ('a lamellar ground glass shadow', False)), (0.7, 0.3)),
          'large': ((('large patchy ground glass opacities', True),
                     ('extensive ground glass opacities', True)), (0.7, 0.3))},
    CONSOLIDATION: {
        'small': ((('a small patchy consolidation', False),
                   ('a small consolidation shadow', False)), (0.7, 0.3)),
        'medium': ((('a patchy consolidation', False),
                    ('a consolidation shadow', False)), (0.7, 0.3)),
        'large': ((('a large area of consolidation', False),
                   ('extensive consolidation', False)), (0.7, 0.3))},
    NODULE: {'small': ((('a small nodule', False),
                        ('a small solid nodule', False)), (0.7, 0.3)),
             'medium': ((('a nodule', False), ('a solid nodule', False)),
                        (0.7, 0.3)),
             'large': ((('a large nodule', False),
                        ('a large solid nodule', False)), (0.7, 0.3))},
}
_BILATERAL_CONSOLIDATION = {'small': 'small patchy consolidations',
                            'medium': 'patchy consolidations',
                            'large': 'large areas of consolidation'}
_LOCATIONS = {
    'peripheral': (('in the subpleural area of {}', 'in the periphery of {}',
                    'under the pleura of {}'), (0.6, 0.25, 0.15)),
    'anterior': (('in the anterior subpleural area of {}',
                  'in the anterior segment of {}'), (0.7, 0.3)),
    'posterior': (('in the posterior subpleural area of {}',
                   'in the dorsal segment of {}'), (0.6, 0.4)),
    'central': (('in the central perihilar area of {}',
                 'near the hilum of {}'), (0.7, 0.3)),
}
_MARGINS = {GGO: ', with blurred margins', CONSOLIDATION:
            ', with unclear margins', NODULE: ', with clear margins'}
_ZH_SIDE = {'right': '右肺', 'left': '左肺', 'bilateral': '双肺'}
_ZH_CAVITY = {'right': '右侧', 'left': '左侧', 'bilateral': '双侧'}
_ZH_LOC = {'peripheral': '外周胸膜下', 'anterior': '前部胸膜下',
           'posterior': '后部胸膜下', 'central': '中央肺门旁'}
_ZH_NP = {GGO: {'small': '小斑片状磨玻璃影', 'medium': '斑片状磨玻璃影',
                'large': '大片状磨玻璃影'},
          CONSOLIDATION: {'small': '小片状实变影', 'medium': '片状实变影',
                          'large': '大片实变影'},
          NODULE: {'small': '小结节影', 'medium': '结节影',
                   'large': '较大结节影'}}
_ZH_EFFUSION = {'small': '少量', 'medium': '中等量', 'large': '大量'}


class _Writer:
    """Holds the RNG and the tense of one report."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.past = bool(rng.random() < PAST_TENSE_PROB)

    def be(self, plural: bool = False) -> str:
        if self.past:
            return 'were' if plural else 'was'
        return 'are' if plural else 'is'

    def pick(self, options: Sequence, probs: Sequence[float]):
        return options[int(self.rng.choice(len(options), p=probs))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _mediastinum(w: _Writer, node: dict) -> str:
    heart = w.pick((f'the mediastinal heart shadow {w.be()} centered',
                    f'the mediastinal cardiac shadow {w.be()} in the middle'),
                   (0.8, 0.2))
    head = f'The thorax {w.be()} symmetrical, {heart}, and '
    if node is None:
        return head + w.pick(
            (f'no enlarged lymph nodes {w.be(True)} seen in the mediastinum.',
             f'no enlarged lymph nodes {w.be(True)} found.'), (0.85, 0.15))
    degree = 'mildly' if node['size'] == 'medium' else 'markedly'
    where = w.pick((f'in the mediastinum near the {node["side"]} hilum',
                    f'in the {node["side"]} hilar region'), (0.7, 0.3))
    return head + (f'a {degree} enlarged lymph node {w.be()} seen {where}.')


def _lesion_clause(w: _Writer, f: dict) -> str:
    kind, size = f['type'], f['size']
    if kind == CONSOLIDATION and f['side'] == 'bilateral':
        np_text, plural = _BILATERAL_CONSOLIDATION[size], True
    else:
        np_text, plural = w.pick(*_NP[kind][size])
    if f['side'] == 'bilateral':
        lung = w.pick(('both lungs', 'the bilateral lungs'), (0.8, 0.2))
    else:
        lung = f'the {f["side"]} lung'
    where = w.pick(*_LOCATIONS[f['location']]).format(lung)
    margin = _MARGINS[kind] if w.chance(0.3) else ''
    return f'{np_text} {w.be(plural)} seen {where}{margin}'


def _lungs(w: _Writer, lesions: List[dict]) -> str:
    if not lesions:
        return w.pick((
            f'The texture of both lungs {w.be()} clear, and no abnormal '
            f'density shadow {w.be()} seen in the lung parenchyma.',
            f'The texture of both lungs {w.be()} clear, and no obvious '
            f'abnormal density {w.be()} seen in either lung.',
            f'Both lungs {w.be(True)} clear without focal lesions.'),
            (0.65, 0.2, 0.15))
    if len(lesions) > 1 and w.chance(0.2):
        lesions = [lesions[i] for i in w.rng.permutation(len(lesions))]
    clauses = [_lesion_clause(w, f) for f in lesions]
    if w.chance(0.6):
        return (f'The texture of both lungs {w.be()} clear, and ' +
                '; '.join(clauses) + '.')
    return ' '.join(_cap(c) + '.' for c in clauses)


def _pleura(w: _Writer, effusion: dict) -> str:
    if effusion is None:
        return w.pick((
            f'The bronchi {w.be(True)} clear, and no pleural effusion '
            f'{w.be()} seen.',
            f'The bronchi of the lobes {w.be(True)} clear, and no abnormal '
            f'density shadow {w.be()} seen in the bilateral thoracic cavity.',
            f'No pleural effusion {w.be()} seen.'), (0.65, 0.2, 0.15))
    amount = {'small': 'a small amount of pleural effusion',
              'medium': 'a moderate pleural effusion',
              'large': 'a large pleural effusion'}[effusion['size']]
    where = {'right': 'in the right thoracic cavity',
             'left': 'in the left thoracic cavity',
             'bilateral': 'in both thoracic cavities'}[effusion['side']]
    shape = (', with a crescent-shaped fluid density posteriorly'
             if w.chance(0.3) else '')
    clause = f'{amount} {w.be()} seen {where}{shape}.'
    if w.chance(0.7):
        return f'The bronchi {w.be(True)} clear, and {clause}'
    return _cap(clause)


def _conclusion(w: _Writer, findings: Sequence[dict], label: int) -> str:
    if label == 1:
        return w.pick(('Viral pneumonia is considered.',
                       'The findings are consistent with viral pneumonia.'),
                      (0.6, 0.4))
    if not findings:
        return 'No obvious abnormality is seen in the chest.'
    return 'No typical signs of viral pneumonia are seen.'


def _chinese(findings: Sequence[dict], label: int, conclude: bool) -> str:
    by_type = {f['type']: f for f in findings}
    node = by_type.get(NODE)
    parts = ['胸廓对称，纵隔心影居中，']
    if node is None:
        parts.append('纵隔内未见肿大淋巴结。')
    else:
        degree = '轻度' if node['size'] == 'medium' else '明显'
        parts.append(f'{_ZH_SIDE[node["side"]]}门旁可见{degree}肿大淋巴结。')
    lesions = [f for f in findings if f['type'] in LUNG_LESIONS]
    if lesions:
        clauses = [f'{_ZH_SIDE[f["side"]]}{_ZH_LOC[f["location"]]}可见'
                   f'{_ZH_NP[f["type"]][f["size"]]}' for f in lesions]
        parts.append('双肺纹理清晰，' + '；'.join(clauses) + '。')
    else:
        parts.append('双肺纹理清晰，双肺实质内未见异常密度影。')
    effusion = by_type.get(EFFUSION)
    if effusion is None:
        parts.append('所见叶段支气管通畅，双侧胸腔内未见积液。')
    else:
        parts.append(f'所见叶段支气管通畅，{_ZH_CAVITY[effusion["side"]]}胸腔'
                     f'可见{_ZH_EFFUSION[effusion["size"]]}积液。')
    if conclude:
        parts.append('考虑病毒性肺炎可能。' if label == 1 else
                     '胸部未见明显异常。' if not findings else
                     '未见典型病毒性肺炎征象。')
    return ''.join(parts)


def write_reports(findings: Sequence[dict], label: int,
                  rng: np.random.Generator) -> Tuple[str, str]:
    """Write the English and Chinese reports of one image.

    Args:
        findings (Sequence[dict]): The image's findings (``findings.py``).
        label (int): Its conclusion label (0/1).
        rng (np.random.Generator): The image's text stream.

    Returns:
        tuple[str, str]: ``(report, report_zh)``.
    """
    unknown = [f['type'] for f in findings if f['type'] not in FINDING_TYPES]
    if unknown:
        raise ValueError(f'Cannot write a report for finding type(s) '
                         f'{unknown}; known types: {list(FINDING_TYPES)}.')
    w = _Writer(rng)
    by_type = {f['type']: f for f in findings}
    lesions = [f for f in findings if f['type'] in LUNG_LESIONS]
    sentences = [_mediastinum(w, by_type.get(NODE)), _lungs(w, lesions),
                 _pleura(w, by_type.get(EFFUSION))]
    if w.chance(0.1):  # occasionally the pleura sentence comes first
        sentences[1], sentences[2] = sentences[2], sentences[1]
    conclude = w.chance(CONCLUSION_PROB)
    if conclude:
        sentences.append(_conclusion(w, findings, label))
    return ' '.join(sentences), _chinese(findings, label, conclude)
