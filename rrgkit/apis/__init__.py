# Copyright (c) rrgkit contributors. All rights reserved.
from .pipeline import (is_pipeline, merge_stage_weights, run_pipeline,
                       stage_checkpoint)
from .docs_tables import generate_tables, render_table
from .results import RecordError, load_record, make_record, write_record
from .checkpoint_vocab import (use_checkpoint_vocabulary,
                               vocab_state_from_checkpoint)
from .inference import (ReportInferencer, config_from_checkpoint,
                        init_report_model, list_images)
from .backbone_weights import export_backbone, extract_state_dict

__all__ = [
    'use_checkpoint_vocabulary', 'vocab_state_from_checkpoint', 'is_pipeline',
    'merge_stage_weights', 'run_pipeline', 'stage_checkpoint',
    'generate_tables', 'render_table', 'RecordError', 'load_record',
    'make_record', 'write_record', 'ReportInferencer',
    'config_from_checkpoint', 'init_report_model', 'list_images',
    'export_backbone', 'extract_state_dict'
]
