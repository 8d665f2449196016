# Copyright (c) rrgkit contributors. All rights reserved.
"""Rebuild a report model from a checkpoint alone (no dataset is read).

:func:`init_report_model` uses what mmengine's Runner and rrgkit store in
every checkpoint: the config text (``meta['cfg']``), the tokenizer
vocabulary (``vocab._extra_state``) and the buffers of components that were
built from the training data (the tag-graph prior, word vectors). The config
text is parsed as plain data (assignments of literals and ``dict(...)``),
never executed, so a checkpoint cannot run code this way either (see
:mod:`rrgkit.utils.checkpoint` for the weights).
"""
import ast
import copy
import os
from typing import Any, Dict, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rrgkit.utils.checkpoint import (CheckpointError,
                                     check_checkpoint_fits_model,
                                     safe_load_checkpoint)
from .checkpoint_vocab import VOCAB_STATE_KEY, vocab_state_from_checkpoint

__all__ = ['config_from_checkpoint', 'generator_config', 'init_report_model']

_NO_CONFIG = ('pass the training config with --config (config= in Python)')


class _DictCalls(ast.NodeTransformer):
    """Turn ``dict(a=1)`` into ``{'a': 1}`` so ``literal_eval`` accepts it."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == 'dict'
                and not node.args
                and all(kw.arg is not None for kw in node.keywords)):
            return ast.Dict(
                keys=[ast.Constant(kw.arg) for kw in node.keywords],
                values=[kw.value for kw in node.keywords])
        return node


def config_from_checkpoint(checkpoint: dict, source: str) -> Config:
    """The training config stored in a checkpoint's ``meta['cfg']``.

    Only plain data is accepted: ``name = <literal or dict(...)>`` lines,
    as mmengine writes them. Nothing in the text is executed.

    Args:
        checkpoint (dict): A loaded checkpoint.
        source (str): Its path, for error messages.

    Returns:
        Config: The config.

    Raises:
        CheckpointError: If there is no config text or it is not plain data.
    """
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise CheckpointError(
            f'Checkpoint {source} carries no config (meta.cfg, written by '
            f"mmengine's Runner); {_NO_CONFIG}.")
    try:
        tree = ast.parse(text)
    except SyntaxError as err:
        raise CheckpointError(f'Checkpoint {source}: its config text does '
                              f'not parse ({err}); {_NO_CONFIG}.') from None
    cfg: Dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue  # nothing is imported: types are strings
        ok = (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.targets[0], ast.Name))
        try:
            if not ok:
                raise ValueError
            value = ast.literal_eval(_DictCalls().visit(stmt.value))
        except (ValueError, TypeError, SyntaxError, RecursionError):
            line = ast.get_source_segment(text, stmt)
            raise CheckpointError(
                f'Checkpoint {source}: line {stmt.lineno} of its config text '
                f'is not plain data ({line!r:.80}); it is not executed for '
                f'safety; {_NO_CONFIG}.') from None
        cfg[stmt.targets[0].id] = value
    return Config(cfg)


# Options that read files or the training data when a component is built,
# and the checkpoint entries (relative to the component) that hold the result.
def _use_stored_prior(cfg: dict, state: dict, prefix: str, source: str):
    adjacency = state.get(prefix + 'prior_adjacency')
    features = state.get(prefix + 'prior_node_features')
    if adjacency is None:
        if isinstance(cfg['prior_graph'], (dict, str, os.PathLike)):
            raise CheckpointError(
                f'The model config builds {prefix}prior_graph from data, but '
                f'checkpoint {source} has no {prefix}prior_adjacency; it does '
                'not belong to this config.')
        return
    if features is None:
        # Already row-normalised with self loops: normalising keeps it.
        cfg['prior_graph'] = adjacency.float().clone()
        cfg['tag_names'] = None
        return
    import networkx as nx
    names = [f'tag_{i}' for i in range(adjacency.shape[0])]
    graph = nx.Graph()  # right sizes; load_state_dict fills the values
    for name in names:
        graph.add_node(name, feature=[0.0] * features.shape[1])
    cfg['prior_graph'], cfg['tag_names'] = graph, names


def _use_stored_word_vectors(cfg: dict, state: dict, prefix: str,
                             source: str):
    weight = state.get(prefix + 'word_embed.weight')
    if weight is None:
        raise CheckpointError(
            f'The model config loads {prefix}word_vectors from a file, but '
            f'checkpoint {source} has no {prefix}word_embed.weight.')
    cfg['word_vectors'] = weight.float().clone()


_DATA_OPTIONS = {
    'prior_graph': _use_stored_prior,
    'word_vectors': _use_stored_word_vectors
}


def _without_data_reads(cfg: dict, state: dict, source: str,
                        prefix: str = '') -> None:
    """Replace data-reading options by the checkpoint's values, in place.

    A sub-config under key ``k`` is assumed to build the attribute ``k``
    (as :class:`ReportGenerator` does), so its state keys start ``k.``.
    """
    for key, value in list(cfg.items()):
        if key in _DATA_OPTIONS and value is not None:
            _DATA_OPTIONS[key](cfg, state, prefix, source)
        elif isinstance(value, dict) and key != 'tokenizer':
            _without_data_reads(value, state, source, f'{prefix}{key}.')


def generator_config(model_cfg: dict) -> dict:
    """The config of the report generator that a model config trains.

    A training wrapper (e.g. :class:`~rrgkit.models.SCSTGenerator`) keeps
    the generator's config under ``generator`` and writes checkpoints with
    the generator's own keys; test and inference build the generator alone
    (its vocabulary from the checkpoint, no training data read). Any other
    config is returned as it is.
    """
    while isinstance(model_cfg, dict) and isinstance(
            model_cfg.get('generator'), dict):
        model_cfg = model_cfg['generator']
    return model_cfg


def _strip_module_prefix(state: dict) -> dict:
    if state and all(k.startswith('module.') for k in state):
        return {k[len('module.'):]: v for k, v in state.items()}
    return dict(state)


def init_report_model(checkpoint: str,
                      config: Union[None, str, Config] = None,
                      device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """Build a model from a checkpoint, load its weights, eval mode.

    Args:
        checkpoint (str): An rrgkit checkpoint (written by tools/train.py).
        config (str | Config, optional): The training config; None reads the
            config stored in the checkpoint. Its tokenizer ``corpus`` is
            ignored: the vocabulary always comes from the checkpoint.
            Defaults to None.
        device (str | torch.device): Defaults to ``'cpu'``.

    Returns:
        nn.Module: The model, in eval mode, with ``model.cfg`` (the config
        used) and ``model.dataset_meta`` (the training dataset's metainfo
        saved in the checkpoint, or ``{}``).

    Raises:
        FileNotFoundError: If the checkpoint or config file does not exist.
        CheckpointError: If the checkpoint is not an rrgkit checkpoint, holds
            no config (and none is given), lacks the vocabulary or does not
            fit the config.
    """
    source = repr(str(checkpoint))
    ckpt = safe_load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'Checkpoint {source} is not a dict checkpoint '
                              'of an rrgkit model.')
    state = _strip_module_prefix(ckpt.get('state_dict', ckpt))
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    if VOCAB_STATE_KEY not in state and 'rrgkit' not in meta:
        raise CheckpointError(
            f'Checkpoint {source} is not an rrgkit checkpoint (no '
            f'{VOCAB_STATE_KEY} and no meta.rrgkit); use a checkpoint written '
            'by tools/train.py.')
    if config is None:
        cfg = config_from_checkpoint(ckpt, source)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        from rrgkit.utils.setup_env import load_config
        cfg = load_config(str(config))
    if not isinstance(cfg.get('model'), dict):
        raise CheckpointError(f'The config of checkpoint {source} has no '
                              f'model; {_NO_CONFIG}.')
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') \
        else copy.deepcopy(dict(cfg.model))
    model_cfg = generator_config(model_cfg)
    if model_cfg.get('tokenizer') is not None:
        model_cfg['tokenizer'].pop('corpus', None)
        model_cfg['tokenizer']['vocab'] = vocab_state_from_checkpoint(
            {'state_dict': state}, source)
    _without_data_reads(model_cfg, state, source)
    from rrgkit.registry import MODELS
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope') or 'rrgkit'):
        model = MODELS.build(model_cfg)
    check_checkpoint_fits_model(model, {'state_dict': state, 'meta': meta},
                                source)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f'Checkpoint {source} does not fit its config: '
            f'{str(err).splitlines()[0]} ...; pass the training config with '
            '--config.') from None
    model.cfg = cfg
    model.dataset_meta = dict(meta.get('dataset_meta') or {})
    return model.to(device).eval()
