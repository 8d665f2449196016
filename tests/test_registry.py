# Copyright (c) rrgkit contributors. All rights reserved.
from mmpretrain import registry as mmpretrain_registry

import rrgkit.registry as R


def test_every_registry_is_a_child_of_mmpretrain():
    for registry in R.ALL_REGISTRIES:
        assert registry.scope == 'rrgkit'
        assert registry.parent.scope == 'mmpretrain'


def test_mmpretrain_names_resolve_through_rrgkit():
    assert R.MODELS.get('DenseNet').__name__ == 'DenseNet'
    assert R.MODELS.get('ReportGenerator').__name__ == 'ReportGenerator'


def test_no_rrgkit_name_shadows_an_mmpretrain_name():
    pairs = [
        (R.MODELS, mmpretrain_registry.MODELS),
        (R.DATASETS, mmpretrain_registry.DATASETS),
        (R.TRANSFORMS, mmpretrain_registry.TRANSFORMS),
        (R.METRICS, mmpretrain_registry.METRICS),
        (R.HOOKS, mmpretrain_registry.HOOKS),
        (R.TOKENIZERS, mmpretrain_registry.TOKENIZER),
    ]
    for ours, theirs in pairs:
        ours.import_from_location()
        theirs.import_from_location()
        assert ours.module_dict, f'{ours.name} registered nothing'
        clash = set(ours.module_dict) & set(theirs.module_dict)
        assert clash == set(), f'{ours.name} shadows {sorted(clash)}'
    # And nothing shadows any ancestor (mmpretrain's or mmengine's).
    for ours in R.ALL_REGISTRIES:
        ancestor = ours.parent
        while ancestor is not None:
            assert set(ours.module_dict) & set(ancestor.module_dict) == set()
            ancestor = ancestor.parent
