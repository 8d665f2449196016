# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR English under the issue-14 protocol (docs/benchmarks.md):
#   python tools/benchmark.py configs/benchmarks/covctr_en_cached_224px.py
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
# data/covctr_tags_en.json (probe, ASGK, CoAtt, Vision-*).
_root = 'work_dirs/benchmarks/covctr_en_cached_224px'
_results = 'docs/results/benchmarks/covctr_en_cached_224px'
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


def _method(name, config, scst=None, block=False):
    """A cached-feature method, its SCST fine-tuning when it has one and
    its retest with blocking (``block``)."""
    methods = [dict(name=name, config=config, cfg_options=_cached)]
    if block:
        methods += _blocking(name, config, _cached)
    if scst:
        methods.append(dict(name=f'{name}+scst', config=scst,
                            test_config=config, init_from=name,
                            cfg_options=[*_cached,
                                         'train_cfg.val_interval=1']))
    return methods


benchmark = dict(
    name='covctr_en_cached_224px',
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
                 'configs/nic/nic_densenet121_1xb16_10e_covctr_en.py',
                 '--tags-file', 'data/covctr_tags_en.json', '--name',
                 'densenet121_random_224px', '--record',
                 f'{_results}/probe.json', '--save-backbone', '{output}',
                 '--cfg-options', *_scale
             ])
    ],
    methods=[
        dict(name='sanity', kind='sanity', config='configs/nic_covctr.py'),
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
                 'configs/coatt/coatt_densenet121_1xb16_10e_covctr_en.py'),
        *_method('r2gen',
                 'configs/r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/scst_r2gen_densenet121_1xb16_3e_covctr_en.py'),
        *_method('vision_gpt', 'configs/vision_transformer/'
                 'vision_gpt_densenet121_1xb16_10e_covctr_en.py',
                 'configs/scst/'
                 'scst_vision_gpt_densenet121_1xb16_3e_covctr_en.py'),
        *_method('vision_bert', 'configs/vision_transformer/'
                 'vision_bert_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='asgk',
             config='configs/asgk/'
             'asgk_pipeline_densenet121_1xb16_5e_64px_covctr_en.py',
             test_config='configs/asgk/'
             'asgk_stage3_densenet121_1xb16_10e_covctr_en.py',
             stage='full',
             cfg_options=[*_images_64px,
                          'model.region_proposer.crop_size=64']),
        dict(name='mdnet', config='configs/mdnet_covctr.py',
             cfg_options=[*_images_64px, *_short_lr,
                          'model.decoder.num_positions=16'],
             retrieval=dict(conclusion='covctr_en')),
    ])
