# Copyright (c) rrgkit contributors. All rights reserved.
# Every method on COV-CTR English under a short CPU schedule that fits in
# about 1.5 h on 2 cores: the configs of covctr_en_cpu.py with 64 px images
# and 5 epochs per stage (lr x0.1 for the last; ASGK's textbook stage 1
# epoch), 3 seeds, checkpoints chosen on val CIDEr-D, scored on test,
# compared with NIC:
#   python tools/benchmark.py configs/benchmarks/covctr_en_cpu_64px.py --jobs 2
# At 64 px the DenseNet-121 feature map is 2x2 (EcNet's 4x4), so the
# attention models attend over few positions: this schedule ranks methods
# cheaply; covctr_en_cpu.py (128 px, 10 epochs, ~10 h) is the fuller one.
# Needs data/covctr, data/textbook (ASGK) and the mined tags
# data/covctr_tags_en.json (ASGK, CoAtt, Vision-*). See docs/benchmarks.md.
_short_lr = ['param_scheduler.0.milestones=[4]']
benchmark = dict(
    name='covctr_en_cpu_64px',
    seeds=[0, 1, 2],
    split='test',
    reference='nic',
    results_dir='docs/results/benchmarks/covctr_en_cpu_64px',
    work_root='work_dirs/benchmarks/covctr_en_cpu_64px',
    # Every run (and its test): 64 px images, 5 epochs.
    cfg_options=[
        *[f'{loader}.dataset.pipeline.1.scale=(64,64)'
          for loader in ('train_dataloader', 'val_dataloader',
                         'test_dataloader')],
        'train_cfg.max_epochs=5',
    ],
    methods=[
        dict(name='sanity', kind='sanity', config='configs/nic_covctr.py'),
        dict(name='nic', config='configs/nic_covctr.py',
             cfg_options=_short_lr),
        dict(name='sat',
             config='configs/sat/sat_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        dict(name='adaatt',
             config='configs/adaatt/adaatt_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        dict(name='coatt',
             config='configs/coatt/coatt_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        dict(name='r2gen',
             config='configs/r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        dict(name='vision_gpt',
             config='configs/vision_transformer/'
             'vision_gpt_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        dict(name='vision_bert',
             config='configs/vision_transformer/'
             'vision_bert_densenet121_1xb16_10e_covctr_en.py',
             cfg_options=_short_lr),
        # The stages carry their own schedule (1 textbook epoch; stage 2's
        # step decay); the crop size also reaches the stage-3 test.
        dict(name='asgk',
             config='configs/asgk/'
             'asgk_pipeline_densenet121_1xb16_5e_64px_covctr_en.py',
             test_config='configs/asgk/'
             'asgk_stage3_densenet121_1xb16_10e_covctr_en.py',
             stage='full',
             cfg_options=['model.region_proposer.crop_size=64']),
        # EcNet-38's last map is 4x4 at 64 px: AAS over 16 positions.
        dict(name='mdnet', config='configs/mdnet_covctr.py',
             cfg_options=[*_short_lr, 'model.decoder.num_positions=16'],
             retrieval=dict(conclusion='covctr_en')),
    ])
