# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet's comparison rows on COV-CTR English under the CPU schedule of
# configs/mdnet/ (EcNet-38-8 from scratch, 128 px, 10 epochs), 3 seeds,
# checkpoints chosen on val CIDEr-D, scored on test (BLEU..CIDEr-D, DCA and
# symptom-description retrieval Cr@k), compared with the joint row:
#   python tools/benchmark.py configs/benchmarks/mdnet_covctr_en_cpu.py --jobs 2
# The table in docs/mdnet.md is generated from the results by
# `python tools/gen_docs_tables.py`. See docs/mdnet.md.
benchmark = dict(
    name='mdnet_covctr_en_cpu',
    seeds=[0, 1, 2],
    split='test',
    reference='joint',
    results_dir='docs/results/benchmarks/mdnet_covctr_en_cpu',
    work_root='work_dirs/benchmarks/mdnet_covctr_en_cpu',
    methods=[
        # Most frequent training report and nearest training thumbnail,
        # scored with the MDNet evaluators (DCA reads their findings).
        dict(name='sanity', kind='sanity', config='configs/mdnet_covctr.py'),
        # Sigmoid β from 0 to 1, η = 5 (eq. 12): MDNet's joint training.
        dict(name='joint', config='configs/mdnet_covctr.py',
             retrieval=dict(conclusion='covctr_en')),
        # β = 0 throughout: the image model learns the diagnosis only
        # ("pretrained CNN, then LSTM").
        dict(name='frozen_cnn',
             config='configs/mdnet/'
             'mdnet_frozen_cnn_ecnet38_1xb16_10e_covctr_en.py',
             retrieval=dict(conclusion='covctr_en')),
        # β = 0, then 1 with η = 1 from half-way ("with fine-tuning").
        dict(name='finetune',
             config='configs/mdnet/'
             'mdnet_finetune_ecnet38_1xb16_10e_covctr_en.py',
             retrieval=dict(conclusion='covctr_en')),
    ])
