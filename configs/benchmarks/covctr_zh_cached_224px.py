# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR Chinese under the issue-14 protocol (docs/benchmarks.md), the
# methods and steps of covctr_en_cached_224px.py on the Chinese reports:
#   python tools/benchmark.py configs/benchmarks/covctr_zh_cached_224px.py
# The English method configs are switched to Chinese with `_chinese` below
# (datasets, character tokenizer, 120 tokens, char evaluation tokenization,
# Chinese tag file and CE metric; the SCST reward tokenized by characters);
# ASGK and MDNet have Chinese configs of their own.
# As in English:
# 1. One frozen visual backbone for every method, chosen by the probe
#    (docs/visual_features.md: of the recipes measured, DenseNet-121 at
#    224 px with its seed-0 random initialisation has the best val COVID
#    and tag AUCs). The `prepare` step probes it on val and saves exactly
#    the weights it probed; its probe record goes beside the results.
# 2. Every method that takes a backbone's feature map trains on the cached
#    224 px maps of that backbone (cached_features, docs/feature_cache.md):
#    the config's own schedule (10 epochs, lr x0.1 at epoch 8; validation
#    every 2 epochs), checkpoint chosen on val CIDEr-D.
# 3. SCST (CIDEr-D reward, 3 epochs) from each CE run's best checkpoint on
#    val (`init_from`), for the methods with an SCST config (NIC, SAT,
#    R2Gen, Vision-GPT): `<method>+scst` rows beside their CE start.
# 4. The retrieval-augmented GPT (docs/retrieval_augmented.md) on the same
#    cached features.
# 5. ASGK (its CAM crops need images) and MDNet (EcNet + AAS) train on
#    images as in covctr_en_cpu_64px.py (64 px, 5 epochs per stage).
# Runs go in the order listed: NIC and the retrieval model first.
# Decoding: each config's (beam 3); `nic+block3` and `retrieval_gpt+block3`
# retest each run's checkpoint with trigram blocking
# (no_repeat_ngram_size=3, docs/decoding.md), `+decoding` with the blocking
# size chosen on val (0, 2 or 3, tools/analysis/choose_decoding.py).
# Seeds 0, 1, 2; test split scored once per run; NIC is the reference of
# the paired tests, the sanity baselines sit
# beside every method. Needs data/covctr, data/textbook (ASGK) and
# data/covctr_tags_zh.json (probe, ASGK, CoAtt, Vision-*).
_root = 'work_dirs/benchmarks/covctr_zh_cached_224px'
_results = 'docs/results/benchmarks/covctr_zh_cached_224px'
_backbone = f'{_root}/densenet121_random_seed0.pth'
_scale = [f'{loader}.dataset.pipeline.1.scale=(224,224)'
          for loader in ('train_dataloader', 'val_dataloader')]
_cached = [f'cached_features.checkpoint={_backbone}',
           'cached_features.prefix=', 'cached_features.out_channels=1024',
           'cached_features.image_size=224', 'train_cfg.val_interval=2']
_images_64px = [
    *[f'{loader}.dataset.pipeline.1.scale=(64,64)'
      for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')],
    'train_cfg.max_epochs=5'
]
_short_lr = ['param_scheduler.0.milestones=[4]']
_loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_evaluators = ('val_evaluator', 'test_evaluator')
_chinese = [
    *[f'{loader}.dataset.language=chinese' for loader in _loaders],
    *[f'{e}.0.eval_tokenizer=char' for e in _evaluators],
    *[f'{e}.1.{key}' for e in _evaluators
      for key in ('tags_file=data/covctr_tags_zh.json', 'language=chinese')],
]
# The tokenizer's vocabulary corpus is a copy of the training dataset's
# config, so it is switched too (zh_mode: 'char' by default).
_tokenizer = ['tokenizer.language=zh', 'tokenizer.corpus.language=chinese']
# Methods whose datasets read the mined tags (CoAtt, Vision-*): the
# Chinese file has 63 tags (configs/_base_/datasets/covctr_zh_tags.py), set
# where each model holds its tag count (`tags` of _method).
_zh_tags = 'tags_file=data/covctr_tags_zh.json'
_tags = [f'{loader}.dataset.{_zh_tags}' for loader in _loaders]
_num_tags = 63


def _tag_model(module):
    """The Chinese tags for the module that holds ``num_tags`` (and, for
    the tag graph, the training corpus its prior graph is counted on)."""
    options = [f'{module}.num_tags={_num_tags}']
    if module.endswith('encoder'):
        corpus = f'{module}.prior_graph.corpus'
        options += [f'{corpus}.{_zh_tags}', f'{corpus}.language=chinese']
    return options


def _blocking(name, config, options):
    """The method's checkpoints retested with trigram blocking, and with
    the blocking size chosen on val (0, 2 or 3; best val CIDEr-D)."""
    return [
        dict(name=f'{name}+block3', config=config, checkpoint_from=name,
             cfg_options=[*options,
                          'model.decode_cfg.no_repeat_ngram_size=3']),
        dict(name=f'{name}+decoding', config=config, checkpoint_from=name,
             cfg_options=options,
             decode_grid=['model.decode_cfg.no_repeat_ngram_size=0,2,3']),
    ]


def _method(name, config, scst=None, tags=None, flat=True, block=False):
    """A cached-feature method in Chinese, its SCST fine-tuning and its
    retest with blocking (``block``).

    ``tags``: the module with ``num_tags`` (CoAtt's ``decoder``, the tag
    graph ``encoder``), or None. ``flat``: one report of up to ``max_len``
    tokens (not CoAtt's sentences).
    """
    options = [*_cached, *_chinese, *[f'model.{o}' for o in _tokenizer],
               *([*_tags, *_tag_model(f'model.{tags}'),
                  f'model.tokenizer.corpus.{_zh_tags}'] if tags else []),
               *(['model.max_len=120'] if flat else [])]
    methods = [dict(name=name, config=config, cfg_options=options)]
    if block:
        methods += _blocking(name, config, options)
    if scst:
        methods.append(dict(
            name=f'{name}+scst', config=scst, test_config=config,
            init_from=name,
            cfg_options=[*_cached, *_chinese, 'train_cfg.val_interval=1',
                         *[f'model.generator.{o}' for o in _tokenizer],
                         *([*_tags, *_tag_model(f'model.generator.{tags}'),
                            f'model.generator.tokenizer.corpus.{_zh_tags}',
                            f'model.corpus.{_zh_tags}'] if tags else []),
                         'model.generator.max_len=120',
                         'model.corpus.language=chinese',  # CIDEr-D's df
                         'model.reward_cfg.cider.eval_tokenizer=char'],
            test_cfg_options=options))
    return methods


benchmark = dict(
    name='covctr_zh_cached_224px',
    seeds=[0, 1, 2],
    split='test',
    reference='nic',
    results_dir=_results,
    work_root=_root,
    prepare=[
        dict(name='backbone',
             output=_backbone,
             command=[
                 'tools/analysis/probe_features.py',
                 'configs/nic/nic_densenet121_1xb16_10e_covctr_zh.py',
                 '--tags-file', 'data/covctr_tags_zh.json', '--name',
                 'densenet121_random_224px', '--record',
                 f'{_results}/probe.json', '--save-backbone', '{output}',
                 '--cfg-options', *_scale
             ])
    ],
    methods=[
        dict(name='sanity', kind='sanity',
             config='configs/nic/nic_densenet121_1xb16_10e_covctr_zh.py'),
        *_method('nic', 'configs/nic/nic_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/scst_nic_densenet121_1xb16_3e_covctr_en.py',
                 block=True),
        *_method('retrieval_gpt', 'configs/retrieval/'
                 'retrieval_gpt_densenet121_1xb16_10e_covctr_en.py',
                 block=True),
        *_method('sat', 'configs/sat/sat_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/scst_sat_densenet121_1xb16_3e_covctr_en.py'),
        *_method('adaatt',
                 'configs/adaatt/adaatt_densenet121_1xb16_10e_covctr_en.py'),
        *_method('coatt',
                 'configs/coatt/coatt_densenet121_1xb16_10e_covctr_en.py',
                 tags='decoder', flat=False),
        *_method('r2gen',
                 'configs/r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/scst_r2gen_densenet121_1xb16_3e_covctr_en.py'),
        *_method('vision_gpt', 'configs/vision_transformer/'
                 'vision_gpt_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/'
                 'scst_vision_gpt_densenet121_1xb16_3e_covctr_en.py',
                 tags='encoder'),
        *_method('vision_bert', 'configs/vision_transformer/'
                 'vision_bert_densenet121_1xb16_10e_covctr_en.py',
                 tags='encoder'),
        dict(name='asgk',
             config='configs/asgk/'
             'asgk_pipeline_densenet121_1xb16_5e_64px_covctr_zh.py',
             test_config='configs/asgk/'
             'asgk_stage3_densenet121_1xb16_10e_covctr_zh.py',
             stage='full',
             cfg_options=[*_images_64px,
                          'model.region_proposer.crop_size=64']),
        dict(name='mdnet',
             config='configs/mdnet/mdnet_ecnet38_1xb16_10e_covctr_zh.py',
             cfg_options=[*_images_64px, *_short_lr,
                          'model.decoder.num_positions=16'],
             retrieval=dict(conclusion='covctr_zh')),
    ])
