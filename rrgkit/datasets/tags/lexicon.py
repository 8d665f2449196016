# Copyright (c) rrgkit contributors. All rights reserved.
"""Curated chest-CT terminology: surface forms -> canonical tags.

The default lexicon was written by reading the COV-CTR training reports
(``shared/data/covctr/annotation.json``): the Chinese findings and their
machine-translated English versions, typos included (``胸模下`` for
``胸膜下``, "plethysmograph" for "under the pleura", "doors of both lungs"
for the hila). Tag names are canonical English in both languages, so an
English and a Chinese vocabulary can be compared tag by tag.

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

__all__ = [
    'TagInfo', 'TagTerm', 'Lexicon', 'KINDS', 'CATEGORIES',
    'DEFAULT_LEXICON'
]

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


# ----------------------------------------------------------------------
# The default lexicon. Patterns run on one clause at a time, so ``.*?``
# never crosses a comma; bounded gaps (``.{0,6}``) keep them local.
# ----------------------------------------------------------------------
_LUNG = r'(?:lungs?|lobes?)'
_THORAX_EN = r'(?:thora\w*|chest|pleural cavit\w*)'
_LOW_EN = r'(?:low[- ]?density|hypointense|hypodense)'
_SIDE_ZH = r'(?:胸腔|胸膜腔)'

_TAGS = [
    # lesions (anchor locations)
    TagInfo('ground-glass opacity', 'abnormal', 'lesion', '磨玻璃影'),
    TagInfo('consolidation', 'abnormal', 'lesion', '实变'),
    TagInfo('patchy shadow', 'abnormal', 'lesion', '斑片影'),
    TagInfo('lamellar shadow', 'abnormal', 'lesion', '片状影'),
    TagInfo('fibrous stripes', 'abnormal', 'lesion', '条索影'),
    TagInfo('nodule', 'abnormal', 'lesion', '结节'),
    TagInfo('mass', 'abnormal', 'lesion', '肿块'),
    TagInfo('reticular pattern', 'abnormal', 'lesion', '网格影'),
    TagInfo('crazy paving', 'abnormal', 'lesion', '铺路石征'),
    TagInfo('interlobular septal thickening', 'abnormal', 'lesion',
            '小叶间隔增厚'),
    TagInfo('subpleural line', 'abnormal', 'lesion', '胸膜下线'),
    TagInfo('air bronchogram', 'abnormal', 'lesion', '支气管充气征'),
    TagInfo('halo sign', 'abnormal', 'lesion', '晕征'),
    TagInfo('tree-in-bud', 'abnormal', 'lesion', '树芽征'),
    TagInfo('vascular thickening', 'abnormal', 'lesion', '血管增粗'),
    TagInfo('cavity', 'abnormal', 'lesion', '空洞'),
    TagInfo('air-fluid level', 'abnormal', 'lesion', '气液平面'),
    TagInfo('cystic lucency', 'abnormal', 'lesion', '囊状透光区'),
    TagInfo('low-density focus', 'abnormal', 'lesion', '低密度影'),
    TagInfo('dense shadow', 'abnormal', 'lesion', '致密影'),
    TagInfo('decreased lung lucency', 'abnormal', 'lesion', '透过度减低'),
    TagInfo('decreased lung density', 'abnormal', 'lesion', '密度减低'),
    TagInfo('bronchial dilatation', 'abnormal', 'lesion', '支气管扩张'),
    TagInfo('bronchial wall thickening', 'abnormal', 'lesion',
            '支气管壁增厚'),
    TagInfo('bronchial obstruction', 'abnormal', 'lesion', '支气管截断'),
    TagInfo('atelectasis', 'abnormal', 'lesion', '肺不张'),
    # findings with their own site
    TagInfo('increased lung markings', 'abnormal', 'finding', '肺纹理增强'),
    TagInfo('lymph node enlargement', 'abnormal', 'finding', '淋巴结肿大'),
    TagInfo('hilar enlargement', 'abnormal', 'finding', '肺门增大'),
    TagInfo('pleural effusion', 'abnormal', 'finding', '胸腔积液'),
    TagInfo('pericardial effusion', 'abnormal', 'finding', '心包积液'),
    TagInfo('pleural thickening', 'abnormal', 'finding', '胸膜增厚'),
    TagInfo('calcification', 'abnormal', 'finding', '钙化'),
    TagInfo('pneumothorax', 'abnormal', 'finding', '气胸'),
    TagInfo('pneumomediastinum', 'abnormal', 'finding', '纵隔积气'),
    TagInfo('mediastinal shift', 'abnormal', 'finding', '纵隔移位'),
    TagInfo('thorax asymmetry', 'abnormal', 'finding', '胸廓不对称'),
    TagInfo('cardiomegaly', 'abnormal', 'finding', '心影增大'),
    TagInfo('pulmonary embolism', 'abnormal', 'finding', '肺动脉充盈缺损'),
    TagInfo('aortic dilatation', 'abnormal', 'finding', '主动脉增宽'),
    TagInfo('aortic wall thickening', 'abnormal', 'finding', '主动脉壁增厚'),
    TagInfo('bone destruction', 'abnormal', 'finding', '骨质破坏'),
    TagInfo('fracture', 'abnormal', 'finding', '骨折'),
    # attributes
    TagInfo('ill-defined margin', 'abnormal', 'attribute', '边缘模糊'),
    TagInfo('well-defined margin', 'abnormal', 'attribute', '边缘清楚'),
    TagInfo('uneven density', 'abnormal', 'attribute', '密度不均'),
    TagInfo('multiple lesions', 'abnormal', 'attribute', '多发'),
    TagInfo('lobulation', 'abnormal', 'attribute', '分叶'),
    TagInfo('spiculation', 'abnormal', 'attribute', '毛刺'),
    # locations
    TagInfo('both lungs', 'abnormal', 'location', '双肺'),
    TagInfo('right lung', 'abnormal', 'location', '右肺'),
    TagInfo('left lung', 'abnormal', 'location', '左肺'),
    TagInfo('upper lobe', 'abnormal', 'location', '上叶'),
    TagInfo('middle lobe', 'abnormal', 'location', '中叶'),
    TagInfo('lower lobe', 'abnormal', 'location', '下叶'),
    TagInfo('lingula', 'abnormal', 'location', '舌段'),
    TagInfo('dorsal segment', 'abnormal', 'location', '背段'),
    TagInfo('basal segment', 'abnormal', 'location', '基底段'),
    TagInfo('subpleural', 'abnormal', 'location', '胸膜下'),
    TagInfo('peripheral', 'abnormal', 'location', '外周'),
    TagInfo('perihilar', 'abnormal', 'location', '肺门区'),
    # normal findings
    TagInfo('thorax symmetrical', 'normal', 'normal', '胸廓对称'),
    TagInfo('mediastinum centred', 'normal', 'normal', '纵隔居中'),
    TagInfo('no lymph node enlargement', 'normal', 'normal', '未见肿大淋巴结'),
    TagInfo('lung markings clear', 'normal', 'normal', '肺纹理清晰'),
    TagInfo('lung fields clear', 'normal', 'normal', '双肺未见异常密度影'),
    TagInfo('hila not enlarged', 'normal', 'normal', '肺门不大'),
    TagInfo('bronchi patent', 'normal', 'normal', '支气管通畅'),
    TagInfo('no pleural effusion', 'normal', 'normal', '未见胸腔积液'),
    TagInfo('no pericardial effusion', 'normal', 'normal', '未见心包积液'),
    TagInfo('heart not enlarged', 'normal', 'normal', '心影不大'),
    TagInfo('no abnormal enhancement', 'normal', 'normal', '未见异常强化'),
]

_T = TagTerm
_TERMS = [
    # --- lesions -------------------------------------------------------
    _T('ground-glass opacity',
       english=(r'ground[- ]?glass', r'frosted[- ]?glass', r'\bglassy\b',
                r'\bggos?\b'),
       chinese=(r'玻璃',)),
    _T('consolidation',
       english=(r'consolidat', r'\bsolid\b(?! nodul)', r'solidification'),
       chinese=(r'实变',)),
    _T('patchy shadow',
       english=(r'\bpatch(?:y|es)?\b(?! (?:solid|ground|glass|consolid))',),
       chinese=(r'斑片(?!状?(?:实变|磨?玻璃))', r'斑点?状影')),
    _T('lamellar shadow',
       english=(r'\blamella[re]?\b(?! (?:ground|glass|solid|cords?))',
                r'\blamellae\b', r'\bsheet(?:-like)? shadow',
                r'\bflaky\b'),
       chinese=(r'(?<![斑条])片(?:状|样)?(?:影|及|、|和)',)),
    _T('fibrous stripes',  # linear opacities: 条索, 条片, 条状, 带状
       english=(r'\bcords?\b', r'\bfibro', r'\bfibrous\b',
                r'\bstri(?:p|ps|pe|pes|ped|ated)\b(?:-like)?'
                r'(?! (?:of )?(?:gas|textureless))',
                r'\bband(?:ed|-like)? (?:of )?dense', r'\blinear'),
       chinese=(r'条索', r'索条', r'片索', r'纤维', r'条片',
                r'条状(?!气体|无纹理)', r'条影', r'带状(?!液)')),
    _T('nodule',
       english=(r'\bnodul(?:e|es|ar)\b',),
       chinese=(r'结节',)),
    _T('mass',
       english=(r'\bmass(?:es)?\b', r'soft[- ]tissue (?:density|mass)'),
       chinese=(r'肿块', r'团块', r'软组织(?:密度|肿块)')),
    _T('reticular pattern',
       english=(r'\bgrid', r'reticul', r'\bmesh', r'\bnet-?like'),
       chinese=(r'网(?:格|状)',)),
    _T('crazy paving',
       english=(r'paving',),
       chinese=(r'铺路石', r'碎石路')),
    _T('interlobular septal thickening',
       english=(r'interlobular', r'\bsept(?:a|al|um)\b'),
       chinese=(r'小叶间隔', r'间隔(?:增厚|影)')),
    _T('subpleural line',
       english=(r'subpleural line', r'sub-pleural line'),
       chinese=(r'胸[膜模]下线',)),
    _T('air bronchogram',
       chinese=(r'支气管(?:气像|气相|充气|气影)', r'空气支气管',
                r'(?:部分|其)内见支气管$'),
       english=(r'bronchial (?:air|gas)', r'air[- ]?bronch',
                r'bronchogram', r'bronchial inflation',
                r'bronchi (?:were|are) seen (?:inside|in it|within)')),
    _T('halo sign',
       english=(r'\bhalo',),
       chinese=(r'晕',)),
    _T('tree-in-bud',
       english=(r'tree[- ]in[- ]bud', r'tree[- ]bud', r'budding tree',
                r'dendritic'),
       chinese=(r'树芽',)),
    _T('vascular thickening',
       english=(r'thickened (?:blood )?vess', r'thickened vascul',
                r'vess\w*.{0,20}thicken', r'vascular (?:cluster|thicken)'),
       chinese=(r'血管(?:影)?增粗', r'增粗的?血管', r'血管集束')),
    _T('cavity',
       english=(r'(?<!thoracic )(?<!thorax )(?<!chest )(?<!pericardial )'
                r'(?<!pleural )(?<!abdominal )\bcavit(?:y|ies|ation|ary)\b'
                r'(?! bilaterally)',),
       chinese=(r'空洞',)),
    _T('air-fluid level',
       english=(r'(?:air|gas)[- ](?:fluid|liquid)', r'fluid level',
                r'(?:gas and liquid|liquid and gas)'),
       chinese=(r'气液平', r'液气平')),
    _T('cystic lucency',
       english=(r'\bcyst(?:ic|s)?\b(?! protrusion)',
                r'(?<!textureless )translucent area', r'\bbull(?:a|ae|ous)\b',
                r'hyperlucen'),
       chinese=(r'囊(?:状|性)(?!突出)', r'(?<!无纹理)透光区', r'肺大[泡疱]')),
    _T('low-density focus',
       english=(r'(?<!arcuate )(?<!curved )(?<!arc-shaped )(?<!liquid )'
                r'(?<!shaped )' + _LOW_EN + r' (?:shadows?|foc)',),
       chinese=(r'(?<!弧形)(?<!液性)低密度(?:影|灶)',)),
    _T('dense shadow',
       english=(r'\bdense\b', r'high[- ]density', r'hyperdens'),
       chinese=(r'致密', r'高密度', r'密度增高')),
    _T('decreased lung lucency',
       english=(r'hypoton', r'reduced permeability',
                r'permeability.{0,30}(?:reduc|decreas)',
                r'(?:reduced|decreased) (?:translucency|transparency|'
                r'lucency)'),
       chinese=(r'透过度减低', r'透亮度减低')),
    _T('decreased lung density',
       english=(r'densit\w* of .{0,40}(?:lung|lobe)s?\b.{0,20}(?:reduc|'
                r'decreas)', _LOW_EN + r' areas?', r'increased transmission',
                r'(?:lung|lobe)\w* (?:is|was|were|are) hypodense',
                r'(?:reduc|decreas)\w* densit\w* (?:of|in) (?:both|the) '
                r'lungs?', r'densit\w* was limitedly (?:reduc|decreas)',
                r'emphysem'),
       chinese=(r'密度.{0,4}减低', r'肺气肿', r'透过度增高')),
    _T('bronchial dilatation',
       english=(r'bronchiectas', r'bronch\w*.{0,120}(?:widen|dilat)',
                r'diameter.{0,60}widen',
                r'(?:widen|dilat)\w*.{0,20}bronch'),
       chinese=(r'支气管.{0,6}(?:增宽|扩张)', r'管[径腔].{0,4}增宽')),
    _T('bronchial wall thickening',
       english=(r'bronchial wall\w*.{0,10}thicken',
                r'\bwalls?\b(?! of the (?:thoracic )?aorta).{0,30}thicken',
                r'thickened walls?'),
       chinese=(r'(?<!动脉)管壁.{0,3}增厚', r'支气管壁')),
    _T('bronchial obstruction',
       english=(r'bronch\w*.{0,40}(?:truncat|narrow|poorly (?:displayed|'
                r'visuali[sz]ed)|obstruct|occlu|cut[- ]off)',),
       chinese=(r'支气管.{0,6}(?:截断|变窄|狭窄|闭塞|显示不良)',)),
    _T('atelectasis',
       english=(r'compress', r'atelecta'),
       chinese=(r'受压', r'肺不张', r'膨胀不全')),
    # --- findings with their own site ----------------------------------
    _T('increased lung markings',
       english=(r'texture.{0,30}\b(?:enhanced|increased|thickened|'
                r'heavier|coarse|disordered)',
                r'(?:enhanced|increased|thickened) (?:lung )?texture',
                r'lung markings.{0,20}(?:increased|enhanced|prominent)'),
       chinese=(r'纹理(?:增强|增多|增粗|紊乱)',)),
    _T('lymph node enlargement',
       english=(r'enlarged lymph', r'lymph nodes?.{0,30}\benlarg',
                r'lymphadenopathy'),
       chinese=(r'淋巴结.{0,3}(?:肿大|增大)', r'肿大.{0,2}淋巴结'),
       negated_tag='no lymph node enlargement'),
    _T('hilar enlargement',
       english=(r'\b(?:hil(?:um|a|ar|us)|lung doors?|doors of (?:both|the) '
                r'lungs?).{0,30}\b(?:large|larger|enlarged|enlargement|'
                r'prominent)\b', r'(?:enlarged|large) hil'),
       chinese=(r'肺门(?:影)?(?:稍|不|未见)?(?:增)?大', r'肺门.{0,2}增浓'),
       negated_tag='hila not enlarged'),
    _T('hila not enlarged',
       english=(r'\bsmall hil', r'(?:lung doors?|doors of both lungs).{0,10}'
                r'\bsmall\b', r'\bhil(?:um|a).{0,20}\b(?:normal|small)\b'),
       chinese=()),
    _T('pleural effusion',
       english=(r'pleural effusion', r'hydrothorax',
                r'\b(?:arc\w*|curv\w*|crescent\w*|band|liquid|fluid).{0,20}'
                + _LOW_EN + r'.{0,60}' + _THORAX_EN,
                r'\b(?:arc\w*|curv\w*|band|liquid|fluid).{0,20}'
                r'(?:liquid|fluid) density.{0,60}' + _THORAX_EN,
                _THORAX_EN + r'.{0,30}(?:curv|arc)\w*.{0,20}(?:' + _LOW_EN +
                r'|liquid|fluid)'),
       chinese=(r'胸腔积液', r'胸水', _SIDE_ZH + r'.{0,8}(?:弧形|带状|液性|水样)'
                r'.{0,6}(?:低密度|液性密度|液体密度)'),
       negated_tag='no pleural effusion'),
    _T(None,  # "no abnormal density in the thoracic cavity"
       english=(r'abnormal.{0,60}' + _THORAX_EN,),
       chinese=(_SIDE_ZH + r'内?.{0,4}异常',),
       negated_tag='no pleural effusion'),
    _T('pericardial effusion',
       english=(r'pericardial effusion', r'pericardi\w*.{0,40}(?:' + _LOW_EN
                + r'|fluid|liquid)', _LOW_EN + r'.{0,40}pericardi'),
       chinese=(r'心包积液', r'心包.{0,10}(?:弧形|液性).{0,4}(?:低密度|液性)'),
       negated_tag='no pericardial effusion'),
    _T('pleural thickening',
       english=(r'(?:pleura|thoracic pattern|chest mode)\w*.{0,30}thicken',
                r'thicken\w*.{0,30}(?:pleura|thoracic pattern|chest mode)'),
       chinese=(r'胸[膜模].{0,5}增厚',)),
    _T('calcification',
       english=(r'calcif',),
       chinese=(r'钙化',)),
    _T('pneumothorax',
       english=(r'pneumothora', r'textureless translucent',
                _THORAX_EN + r'.{0,40}gas density',
                r'gas density.{0,40}' + _THORAX_EN),
       chinese=(r'气胸', _SIDE_ZH + r'.{0,8}(?:无纹理透光|气体密度)')),
    _T('pneumomediastinum',
       english=(r'pneumomediastin', r'mediastinal emphysema',
                r'gas density.{0,40}mediastin',
                r'mediastin.{0,40}gas density'),
       chinese=(r'纵隔.{0,8}气体密度', r'纵隔气肿', r'纵隔积气')),
    _T('mediastinal shift',
       english=(r'mediastin.{0,40}\bshift', r'\bshift.{0,40}mediastin'),
       chinese=(r'纵隔.{0,3}(?:左移|右移|移位|偏移)',)),
    _T('thorax symmetrical',
       english=(r'\bthora(?:x|cic)\b.{0,20}\bsymmetr',
                r'\bsymmetrical thora', r'thoracic symmetry'),
       chinese=(r'胸廓.{0,2}对称',),
       negated_tag='thorax asymmetry'),
    _T('thorax asymmetry',
       english=(r'\bthora(?:x|cic)\b.{0,20}\basymmetr',
                r'\basymmetric(?:al)? thora'),
       chinese=()),  # 胸廓不对称: negated 'thorax symmetrical'
    _T('mediastinum centred',
       english=(r'mediastin.{0,40}\b(?:centered|centred|central|midline|'
                r'in the (?:middle|center|centre))\b',),
       chinese=(r'纵隔.{0,3}居中',),
       negated_tag='mediastinal shift'),
    _T('cardiomegaly',
       english=(r'cardiomegaly', r'\bheart\b.{0,20}\b(?:large|enlarged)\b',
                r'enlarged heart'),
       chinese=(r'心(?:脏|影)(?:稍|不)?(?:增|扩)?大',),
       negated_tag='heart not enlarged'),
    _T('pulmonary embolism',
       english=(r'filling defect', r'embol'),
       chinese=(r'充盈缺损', r'栓塞')),
    _T('aortic dilatation',
       english=(r'aort\w*.{0,30}(?:widen|dilat|aneurysm|protrusion)',),
       chinese=(r'主动脉.{0,4}(?:增宽|扩张|瘤|囊状突出)',)),
    _T('aortic wall thickening',
       english=(r'wall of the (?:thoracic )?aorta.{0,20}thicken',
                r'aortic wall.{0,20}thicken'),
       chinese=(r'主动脉.{0,3}壁.{0,6}增厚',)),
    _T('bone destruction',
       english=(r'bone destruction', r'bon[ey].{0,20}destr',
                r'destruction of.{0,20}bone', r'osteolys'),
       chinese=(r'骨质破坏', r'骨破坏')),
    _T('fracture',
       english=(r'fractur', r'discontinu'),
       chinese=(r'骨折', r'骨质不连续')),
    # --- attributes ----------------------------------------------------
    _T('ill-defined margin',
       english=(r'\b(?:margins?|borders?|edges?|boundar(?:y|ies))\b.{0,30}'
                r'\b(?:unclear|blurred|blurry|indistinct|fuzzy|faint|'
                r'ill-defined|obscure)',
                r'\b(?:unclear|blurred|blurry|indistinct|fuzzy|faint|'
                r'ill-defined)\b (?:margins?|borders?|edges?|boundar)'),
       chinese=(r'(?:边缘|边界).{0,3}(?:不清|模糊|欠清)',)),
    _T('well-defined margin',
       english=(r'\b(?:margins?|borders?|edges?|boundar(?:y|ies))\b.{0,20}'
                r'\bclear(?:ly)?\b', r'\bclear (?:margins?|borders?|edges?|'
                r'boundar)', r'well-defined'),
       chinese=(r'(?:边缘|边界)(?:较|尚|部分)?(?:清楚|清晰|清)',),
       negated_tag='ill-defined margin'),
    _T('uneven density',
       english=(r'(?:uneven|inhomogeneous|heterogeneous).{0,20}densit',
                r'densit.{0,40}(?:uneven|inhomogeneous|heterogeneous)'),
       chinese=(r'密度.{0,2}(?:不均|欠均)',)),
    _T(None,  # "the density was not uniform"
       english=(r'densit.{0,20}\b(?:uniform|even|homogeneous)\b',),
       chinese=(),
       negated_tag='uneven density'),
    _T('multiple lesions',
       english=(r'\bmultiple\b', r'\bdiffuse', r'\bscattered\b'),
       chinese=(r'多发', r'弥漫', r'散在')),
    _T('lobulation',
       english=(r'lobulat',),
       chinese=(r'分叶',)),
    _T('spiculation',
       english=(r'\bburrs?\b', r'spicul', r'spiky'),
       chinese=(r'毛刺',)),
    # --- locations -----------------------------------------------------
    _T('both lungs',
       english=(r'\bboth (?:lungs?|lung)\b', r'\bbilateral lungs?\b',
                r'\btwo lungs\b', r'\blungs bilaterally\b'),
       chinese=(r'双肺', r'两肺', r'双侧肺')),
    _T('right lung',
       english=(r'\bright (?:lungs?|(?:upper|middle|lower) lobes?)\b',),
       chinese=(r'右肺',)),
    _T('left lung',
       english=(r'\bleft (?:lungs?|(?:upper|lower) lobes?)\b',),
       chinese=(r'左肺',)),
    _T('upper lobe',
       english=(r'\bupper (?:and (?:middle |lower ))?' + _LUNG + r'\b',
                r'\bupper lobar\b'),
       chinese=(r'上叶',)),
    _T('middle lobe',
       english=(r'\bmiddle (?:and lower )?lobes?\b',
                r'\bupper and middle lobes?\b'),
       chinese=(r'中叶',)),
    _T('lower lobe',
       english=(r'\blower (?:dorsal )?lobes?\b',
                r'\b(?:upper|middle) and lower lobes?\b'),
       chinese=(r'下叶',)),
    _T('lingula',
       english=(r'lingula', r'lingual segment', r'tongue segment'),
       chinese=(r'舌段',)),
    _T('dorsal segment',
       english=(r'dorsal (?:segment|lobe)', r'superior segment'),
       chinese=(r'背段',)),
    _T('basal segment',
       english=(r'\bbasal\b',),
       chinese=(r'基底段',)),
    _T('subpleural',
       english=(r'sub-?pleural(?! line)', r'(?:under|beneath) the pleura',
                r'plethysmo', r'under the (?:thoracic pattern|chest mode)'),
       chinese=(r'胸[膜模]下(?!线)',)),
    _T('peripheral',
       english=(r'\bperipheral (?:zone|area|region|distribution|lung)',
                r'periphery of the lung'),
       chinese=(r'外周', r'周边', r'外带')),
    _T('perihilar',
       english=(r'perihilar', r'hilar region', r'near the hil'),
       chinese=(r'肺门(?:区|旁|周围)', r'近肺门')),
    # --- normal findings -----------------------------------------------
    _T('lung markings clear',
       english=(r'textures? of (?:both|the) lungs?.{0,20}\bclear',
                r'clear (?:lung )?texture', r'lung markings.{0,20}clear'),
       chinese=(r'纹理(?:清晰|清楚)',)),
    _T(None,  # "no abnormal density in both lungs"
       english=(r'abnormal.{0,30}densit.{0,50}\b(?:both lungs|lungs?)\b',),
       chinese=(r'肺内?.{0,4}异常.{0,3}密度',),
       negated_tag='lung fields clear'),
    _T('bronchi patent',
       english=(r'\bbronch(?:us|i|ial tubes?|ial|ioles?)\b'
                r'(?! (?:air|gas|diameter))'
                r'.{0,40}\b(?:clear|patent|open|unobstructed)\b',
                r'bronchial patency'),
       chinese=(r'支气管.{0,2}通畅?',),
       negated_tag='bronchial obstruction'),
    _T(None,  # "no abnormal enhancement in the lungs and mediastinum"
       english=(r'abnormal (?:enhancement|strengthening)',),
       chinese=(r'异常强化',),
       negated_tag='no abnormal enhancement'),
]

#: The lexicon used when none is given.
DEFAULT_LEXICON = Lexicon(_TAGS, _TERMS)
