# Copyright (c) rrgkit contributors. All rights reserved.
"""rrgkit registries.

Every registry is a child of the matching mmpretrain registry, so a config
under ``default_scope='rrgkit'`` resolves both rrgkit names (``'LSTMDecoder'``)
and mmpretrain names (``'DenseNet'``). Modules register lazily: the first
``build``/``get`` imports the packages listed in ``locations``.

A child registry silently shadows a parent name, so rrgkit never registers a
name that mmpretrain already has (``tests/test_registry.py`` checks this).

``REPORT_SPLITTERS`` (how a dataset cuts a report into K descriptions plus a
conclusion, for MDNet-style task duplication) has no mmpretrain counterpart,
so it has no parent and is not in ``ALL_REGISTRIES``. Dataset configs name a
splitter by preset (``report_splitter=dict(preset='covctr_en')``) or give
its arguments without ``type``; see :mod:`rrgkit.datasets.descriptions`.

``REWARDS`` (sequence-level rewards for reinforcement fine-tuning, e.g.
CIDEr-D for self-critical sequence training) has no mmpretrain counterpart
either, so it has no parent and is not in ``ALL_REGISTRIES``; see
:mod:`rrgkit.evaluation.rewards`.

``STRATEGIES`` (``FlexibleRunner``'s DDP/FSDP/DeepSpeed strategies) is a
child of mmengine's registry, since mmpretrain has none; it is not in
``ALL_REGISTRIES`` either (whose parents are all mmpretrain's).
"""
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'TOKENIZERS', 'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS',
    'REPORT_SPLITTERS', 'REWARDS', 'STRATEGIES', 'ALL_REGISTRIES'
]


def _child(name: str, parent: Registry, locations=None) -> Registry:
    # A child looks names up in its parents' tables without importing the
    # parents' lazy locations, so import those together with ours.
    locations = list(locations or []) + list(parent._locations)
    return Registry(name, parent=parent, scope='rrgkit', locations=locations)


_R = mmpretrain_registry
RUNNERS = _child('runner', _R.RUNNERS, ['rrgkit.engine'])
RUNNER_CONSTRUCTORS = _child('runner constructor', _R.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', _R.LOOPS, ['rrgkit.engine'])
HOOKS = _child('hook', _R.HOOKS, ['rrgkit.engine'])
LOG_PROCESSORS = _child('log processor', _R.LOG_PROCESSORS)
OPTIMIZERS = _child('optimizer', _R.OPTIMIZERS, ['rrgkit.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', _R.OPTIM_WRAPPERS, ['rrgkit.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    _R.OPTIM_WRAPPER_CONSTRUCTORS,
                                    ['rrgkit.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', _R.PARAM_SCHEDULERS,
                          ['rrgkit.engine'])
DATASETS = _child('dataset', _R.DATASETS, ['rrgkit.datasets'])
DATA_SAMPLERS = _child('data sampler', _R.DATA_SAMPLERS, ['rrgkit.datasets'])
TRANSFORMS = _child('transform', _R.TRANSFORMS, ['rrgkit.datasets'])
MODELS = _child('model', _R.MODELS, ['rrgkit.models'])
MODEL_WRAPPERS = _child('model_wrapper', _R.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', _R.WEIGHT_INITIALIZERS)
BATCH_AUGMENTS = _child('batch augment', _R.BATCH_AUGMENTS)
TASK_UTILS = _child('task util', _R.TASK_UTILS, ['rrgkit.models'])
TOKENIZERS = _child('tokenizer', _R.TOKENIZER, ['rrgkit.models'])
METRICS = _child('metric', _R.METRICS, ['rrgkit.evaluation'])
EVALUATORS = _child('evaluator', _R.EVALUATORS, ['rrgkit.evaluation'])
VISUALIZERS = _child('visualizer', _R.VISUALIZERS, ['rrgkit.visualization'])
VISBACKENDS = _child('vis_backend', _R.VISBACKENDS)
# rrgkit's own kind (no parent): report -> K descriptions + conclusion.
REPORT_SPLITTERS = Registry('report splitter',
                            scope='rrgkit',
                            locations=['rrgkit.datasets'])
# rrgkit's own kind (no parent): (predictions, references) -> rewards.
REWARDS = Registry('reward', scope='rrgkit', locations=['rrgkit.evaluation'])
# FlexibleRunner strategies; mmengine registers its own on importing
# mmengine._strategy.
STRATEGIES = Registry('strategy',
                      parent=MMENGINE_STRATEGIES,
                      scope='rrgkit',
                      locations=['rrgkit.engine', 'mmengine._strategy'])

ALL_REGISTRIES = (RUNNERS, RUNNER_CONSTRUCTORS, LOOPS, HOOKS, LOG_PROCESSORS,
                  OPTIMIZERS, OPTIM_WRAPPERS, OPTIM_WRAPPER_CONSTRUCTORS,
                  PARAM_SCHEDULERS, DATASETS, DATA_SAMPLERS, TRANSFORMS,
                  MODELS, MODEL_WRAPPERS, WEIGHT_INITIALIZERS, BATCH_AUGMENTS,
                  TASK_UTILS, TOKENIZERS, METRICS, EVALUATORS, VISUALIZERS,
                  VISBACKENDS)
