# Copyright (c) rrgkit contributors. All rights reserved.
"""Take the vocabulary from a checkpoint instead of rebuilding it."""
import os
import os.path as osp

from mmengine.config import Config

from rrgkit.utils.checkpoint import CheckpointError, safe_load_checkpoint

__all__ = ['VOCAB_STATE_KEY', 'vocab_state_from_checkpoint',
           'use_checkpoint_vocabulary']

#: Where the tokenizer's vocabulary sits in a ReportGenerator state dict.
VOCAB_STATE_KEY = 'vocab._extra_state'


def vocab_state_from_checkpoint(checkpoint: dict, source: str) -> dict:
    """Return the tokenizer state stored in a checkpoint.

    Args:
        checkpoint (dict): A loaded checkpoint or bare state dict.
        source (str): Its path, for the error message.

    Returns:
        dict: The state accepted by ``ReportTokenizer.from_state_dict``.

    Raises:
        CheckpointError: If the checkpoint carries no vocabulary.
    """
    state = checkpoint.get('state_dict', checkpoint)
    for key, value in state.items():
        if key.endswith(VOCAB_STATE_KEY):
            return value
    raise CheckpointError(
        f'Checkpoint {source} holds no rrgkit vocabulary ({VOCAB_STATE_KEY}); '
        'it was not written by an rrgkit ReportGenerator.')


def use_checkpoint_vocabulary(cfg: Config, checkpoint_path: str,
                              work_dir: str) -> str:
    """Point ``cfg.model.tokenizer`` at the vocabulary inside a checkpoint.

    Test and inference must use exactly the vocabulary the model was trained
    with, without re-reading the training split. The vocabulary is copied to
    ``<work_dir>/vocab_from_checkpoint.json`` and the tokenizer config's
    ``vocab`` is set to it (its ``corpus`` is dropped).

    Args:
        cfg (Config): Config whose ``model.tokenizer`` is rewritten in place.
        checkpoint_path (str): The checkpoint file.
        work_dir (str): Folder for the vocabulary copy.

    Returns:
        str: Path of the written vocabulary file.
    """
    from rrgkit.models.tokenizers import ReportTokenizer
    checkpoint = safe_load_checkpoint(checkpoint_path, map_location='cpu')
    state = vocab_state_from_checkpoint(checkpoint, repr(checkpoint_path))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'vocab_from_checkpoint.json')
    ReportTokenizer.from_state_dict(state).save(path)
    if cfg.model.get('tokenizer') is None:
        cfg.model.tokenizer = dict(type='ReportTokenizer')
    # Edited in place: copying the ConfigDict would resolve its lazy types.
    cfg.model.tokenizer.pop('corpus', None)
    cfg.model.tokenizer.vocab = path
    return path
