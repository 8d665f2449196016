# Copyright (c) rrgkit contributors. All rights reserved.
"""Named report splitters, and the COV-CTR conclusion texts.

COV-CTR reports (``shared/data/covctr/annotation.json``) are findings only,
in a fixed order: thorax and mediastinum, lungs, bronchi, pleura / thoracic
cavity. The ``covctr_en`` and ``covctr_zh`` presets split them into those
four descriptions; the conclusion comes from the ``COVID`` label through
:data:`COVCTR_CONCLUSION_TEMPLATES`, which the diagnostic-conclusion
evaluation uses too.

The keywords were written by reading every clause of the COV-CTR training
reports, typos of the source included (``胸模`` for ``胸膜``, "doors of both
lungs" for the hila). Groups are *tried* in the order thorax_mediastinum,
bronchi, pleura, lungs: the specific rules first, the broad lung rules
("shadow", "lobe", ``影``) last, so "the mediastinal heart shadow" stays
with the mediastinum and "no abnormal density shadow in the bilateral
thoracic cavity" with the pleura, while "ground glass shadows under the
pleura of the right lung" is a lung finding.

On the train split every clause finds a group (English 4136, Chinese 4260
clauses; 241 and 737 subject-less pieces such as "with blurred margins"
continue the clause before them), and the descriptions keep every word of
the report (``tests/test_datasets/test_descriptions/test_presets.py``).
Known misplacements, about 10 clauses per language: lung lesions located
"near the hilum" / "next to the aorta" (``近肺门``, ``主动脉旁``) go to
thorax_mediastinum, and nodules "around the bronchi" to bronchi.
"""
import copy
from typing import Any, Dict, Mapping, Union

from rrgkit.registry import REPORT_SPLITTERS
from ..errors import DatasetError
from .splitter import KeywordReportSplitter

__all__ = [
    'COVCTR_CONCLUSION_TEMPLATES', 'COVCTR_CONCLUSION_CLASSES',
    'COVCTR_DESCRIPTION_NAMES', 'REPORT_SPLITTER_PRESETS',
    'build_report_splitter'
]

#: Conclusion text per COV-CTR ``COVID`` label, by language ('en', 'zh').
COVCTR_CONCLUSION_TEMPLATES: Dict[str, Dict[int, str]] = {
    'en': {
        0: 'no evidence of covid-19 pneumonia.',
        1: 'findings consistent with covid-19 pneumonia.'
    },
    'zh': {
        0: '未见新型冠状病毒肺炎征象。',
        1: '考虑新型冠状病毒肺炎。'
    },
}
#: Class names by COV-CTR ``COVID`` label.
COVCTR_CONCLUSION_CLASSES = ('non_covid', 'covid')
#: The K = 4 COV-CTR descriptions, in report order.
COVCTR_DESCRIPTION_NAMES = ('thorax_mediastinum', 'lungs', 'bronchi',
                            'pleura')
_COVCTR_MATCH_ORDER = ('thorax_mediastinum', 'bronchi', 'pleura', 'lungs')

_COVCTR_EN = [
    ('thorax_mediastinum', [
        r'\bthorax (?:is|was)\b', r'symmetr\w* thorax',
        r'thoracic (?:symmetry|cage)', r'mediastin',
        r'heart shadow', r'cardiac shadow', r'lymph node',
        r'\bhil(?:um|a|ar)\b', r'doors of both lungs', r'aorta',
        r'pulmonary arter', r'pericardi', r'\bribs?\b', r'vertebra'
    ]),
    ('lungs', [
        r'\blungs?\b', r'\blobes?\b', r'lingual', r'tongue segment',
        r'ground glass', r'glassy', r'shadow', r'patch', r'nodul', r'lesion',
        r'subpleural', r'under the pleura', r'opacit', r'consolidation',
        r'lamellar', r'stripe', r'striated', r'\bdensity\b', r'pulmonary',
        r'plethysmograph'
    ]),
    ('bronchi', [
        r'\bbronch(?:i|us)\b', r'bronchial (?:patency|tubes?|diameter)',
        r'bronchioles? of'
    ]),
    ('pleura', [
        r'thoracic cavit', r'chest cavit', r'(?:bilateral|left|right) thorax',
        r'(?:bilateral|left|right) pleura\b',
        r'(?<!with the )\bpleura (?:is|was|are|were)',
        r'pleural? (?:thicken|effusion|calcif)', r'effusion',
        r'oblique fissure (?:is|was)'
    ]),
]

_COVCTR_ZH = [
    ('thorax_mediastinum', [
        r'胸廓', r'纵隔', r'心影', r'淋巴结', r'肺门', r'主动脉', r'肺动脉',
        r'心包', r'肋骨', r'胸椎', r'心脏'
    ]),
    ('lungs', [
        r'肺', r'叶', r'磨玻璃', r'毛玻璃', r'影', r'病灶', r'结节', r'实变',
        r'胸[膜模]下', r'空洞'
    ]),
    ('bronchi', [
        r'叶段支气管', r'支气管(?:通|管径|管腔|内|截断|显示|扩张|狭窄|变窄)'
    ]),
    ('pleura', [r'胸腔', r'胸[膜模](?!下)(?:见|.{0,4}增厚)', r'积液', r'胸水',
                r'斜裂(?:见|前移|增厚)']),
]

#: Splitter arguments by preset name.
REPORT_SPLITTER_PRESETS: Dict[str, Dict[str, Any]] = {
    'covctr_en':
    dict(groups=_COVCTR_EN,
         language='en',
         match_order=_COVCTR_MATCH_ORDER,
         conclusion_templates=COVCTR_CONCLUSION_TEMPLATES['en'],
         conclusion_classes=COVCTR_CONCLUSION_CLASSES),
    'covctr_zh':
    dict(groups=_COVCTR_ZH,
         language='zh',
         match_order=_COVCTR_MATCH_ORDER,
         conclusion_templates=COVCTR_CONCLUSION_TEMPLATES['zh'],
         conclusion_classes=COVCTR_CONCLUSION_CLASSES),
}


def build_report_splitter(cfg: Union[str, Mapping, Any]) -> Any:
    """Build a report splitter from a preset name, a config or an object.

    Args:
        cfg (str | dict | object): A preset name of
            :data:`REPORT_SPLITTER_PRESETS`; ``dict(preset=name, **overrides)``
            (e.g. ``dict(preset='covctr_en', other='drop')``); a config with
            ``type`` (built with ``REPORT_SPLITTERS``); a config without
            ``type`` (arguments of :class:`KeywordReportSplitter`); or an
            object with ``split(report, label)`` and ``description_names``,
            returned as is.

    Returns:
        The splitter.

    Raises:
        DatasetError: For an unknown preset or an unusable object.
    """
    if isinstance(cfg, str):
        cfg = dict(preset=cfg)
    if not isinstance(cfg, Mapping):
        if not (callable(getattr(cfg, 'split', None))
                and hasattr(cfg, 'description_names')):
            raise DatasetError(
                'report_splitter must be a preset name, a config dict, or an '
                'object with split(report, label) and description_names; '
                f'got {type(cfg).__name__}.')
        return cfg
    cfg = dict(cfg)
    preset = cfg.pop('preset', None)
    if preset is not None:
        if preset not in REPORT_SPLITTER_PRESETS:
            raise DatasetError(
                f'Unknown report splitter preset {preset!r}; known presets: '
                f'{sorted(REPORT_SPLITTER_PRESETS)}. Or give the groups, e.g. '
                "dict(groups=[('lungs', ['lung'])], language='en').")
        cfg = {**copy.deepcopy(REPORT_SPLITTER_PRESETS[preset]), **cfg}
    if 'type' not in cfg:
        return KeywordReportSplitter(**cfg)
    return REPORT_SPLITTERS.build(cfg)
