# Copyright (c) rrgkit contributors. All rights reserved.
"""Named settings of :class:`~.conclusion.ConclusionExtractor`.

COV-CTR (English and Chinese): an explicit conclusion template wins; then
an affirmed COVID-19 mention gives 1, a negated one 0; findings atypical of
COVID-19 give 0, typical ones 1; otherwise 0.
"""
from typing import Any, Dict

from rrgkit.datasets.descriptions.presets import (COVCTR_CONCLUSION_CLASSES,
                                                 COVCTR_CONCLUSION_TEMPLATES)

__all__ = ['CONCLUSION_PRESETS', 'COVCTR_CONCLUSIONS', 'COVCTR_CLASS_NAMES']

#: Explicit conclusion sentence per COV-CTR class, appended to the findings
#: by an MDNet-style model; they win over the findings rules.
#: (The dataset side's templates, so training targets and rules agree.)
COVCTR_CONCLUSIONS = COVCTR_CONCLUSION_TEMPLATES
COVCTR_CLASS_NAMES = dict(enumerate(COVCTR_CONCLUSION_CLASSES))
_COVID_WORDS = {
    'en': ['covid', 'sars-cov-2', 'novel coronavirus', 'coronavirus'],
    'zh': ['新型冠状病毒', '冠状病毒', '新冠', 'covid'],
}
_ATYPICAL = {
    'en': ['nodul', r're:(?<!thoracic )(?<!pleural )(?<!chest )cavit',
           'mass', 'calcif', 'enlarged lymph node', 're:grid|reticul',
           r're:low[\s-]*density|hypointense|hypodense', 'gas density',
           r're:thickened pleura|pleura\w*(?: \w+){0,3} thicken',
           're:cord-like|cord like|striat'],
    'zh': ['结节', '空洞', '肿块', '钙化', 're:肿大淋巴结|淋巴结(?:肿大|增大)',
           '网格', '低密度', '气体', r're:胸膜\S{0,6}增厚', '条索'],
}
_TYPICAL = {
    'en': ['ground glass', 'glassy', 'consolidat', 'solid', 'patchy', 'halo',
           'crazy paving', 're:thickened (?:vessel|vascul)|vascular thicken'],
    'zh': ['磨玻璃', '实变', '斑片', '片状', '晕', '铺路', '血管增粗'],
}


def _covctr_preset(lang: str) -> Dict[str, Any]:
    return dict(
        rules=[(1, _COVID_WORDS[lang]),
               dict(label=0, patterns=_COVID_WORDS[lang], when='negated'),
               (0, _ATYPICAL[lang]), (1, _TYPICAL[lang])],
        default=0,
        language=lang,
        conclusions=COVCTR_CONCLUSIONS[lang],
        conclusion_words=_COVID_WORDS[lang] + (
            ['pneumonia'] if lang == 'en' else ['肺炎']),
        negation_window=6 if lang == 'en' else None,
        class_names=COVCTR_CLASS_NAMES)


#: Named extractor settings for :meth:`ConclusionExtractor.from_preset`.
CONCLUSION_PRESETS: Dict[str, Dict[str, Any]] = {
    'covctr_en': _covctr_preset('en'),
    'covctr_zh': _covctr_preset('zh'),
}
