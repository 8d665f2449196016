# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK (+IA +EA) on COV-CTR Chinese under the short CPU schedule of
# configs/benchmarks/covctr_zh_cached_224px.py: the three stages of
# configs/asgk_covctr_zh.py with 1 textbook epoch, then 64 px images and 5
# epochs for the DenseNets (stage 2's step decay stays beyond the end) and
# the whole network (lr x0.1 for the last epoch).
#   python tools/train.py configs/asgk/asgk_pipeline_densenet121_1xb16_5e_64px_covctr_zh.py
# At 64 px DenseNet-121's last feature map is 2x2 and the CAM crops are
# resized to 64 px. Test with the stage-3 config and the same image size:
#   python tools/test.py configs/asgk/asgk_stage3_densenet121_1xb16_10e_covctr_zh.py \
#       WORK_DIR/full/best_*.pth --cfg-options \
#       test_dataloader.dataset.pipeline.1.scale="(64,64)" \
#       model.region_proposer.crop_size=64
_images = [f'{loader}.dataset.pipeline.1.scale=(64,64)'
           for loader in ('train_dataloader', 'val_dataloader',
                          'test_dataloader')]
_short = [*_images, 'model.region_proposer.crop_size=64',
          'train_cfg.max_epochs=5']
stages = [
    dict(name='textbook', config='asgk_stage1_textbook_covctr_zh.py',
         cfg_options=['train_cfg.max_epochs=1']),
    dict(name='visual',
         config='asgk_stage2_densenet121_1xb16_10e_covctr_zh.py',
         cfg_options=_short),
    dict(name='full',
         config='asgk_stage3_densenet121_1xb16_10e_covctr_zh.py',
         init_from=['visual', 'textbook'],
         cfg_options=[*_short, 'param_scheduler.0.milestones=[4]']),
]
