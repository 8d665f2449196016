# Copyright (c) rrgkit contributors. All rights reserved.
# Every method on COV-CTR English under the CPU schedule of its config
# (DenseNet-121 / EcNet from scratch, 128 px, 10 epochs per stage), 3 seeds,
# checkpoints chosen on val CIDEr-D, scored on test, compared with NIC:
#   python tools/benchmark.py configs/benchmarks/covctr_en_cpu.py --jobs 2
# Needs data/covctr, data/textbook (ASGK) and the mined tags
# data/covctr_tags_en.json (ASGK, CoAtt, Vision-*). See docs/benchmarks.md.
benchmark = dict(
    name='covctr_en_cpu',
    seeds=[0, 1, 2],
    split='test',
    reference='nic',
    results_dir='docs/results/benchmarks/covctr_en_cpu',
    work_root='work_dirs/benchmarks/covctr_en_cpu',
    methods=[
        dict(name='sanity', kind='sanity', config='configs/nic_covctr.py'),
        dict(name='nic', config='configs/nic_covctr.py'),
        dict(name='sat',
             config='configs/sat/sat_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='adaatt',
             config='configs/adaatt/adaatt_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='coatt',
             config='configs/coatt/coatt_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='r2gen',
             config='configs/r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='vision_gpt',
             config='configs/vision_transformer/'
             'vision_gpt_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='vision_bert',
             config='configs/vision_transformer/'
             'vision_bert_densenet121_1xb16_10e_covctr_en.py'),
        dict(name='asgk', config='configs/asgk_covctr.py',
             test_config='configs/asgk/'
             'asgk_stage3_densenet121_1xb16_10e_covctr_en.py',
             stage='full'),
        dict(name='mdnet', config='configs/mdnet_covctr.py',
             retrieval=dict(conclusion='covctr_en')),
    ])
