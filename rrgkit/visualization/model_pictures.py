# Copyright (c) rrgkit contributors. All rights reserved.
"""Draw what a built rrgkit model can show for a preprocessed batch.

:func:`model_pictures` runs the model once (eval mode, no gradients) and
writes, per image, whichever of these pictures the model supports:

* ``<stem>_heatmap.png``: the CAM heat map and the cropped region box, when
  the features' extras have ``heatmap`` (and ``region_boxes``), e.g.
  :class:`~rrgkit.models.region_proposers.CAMThresholdProposer` (ASGK);
* ``<stem>_class_map.png``: MDNet's class map (``class_map`` of
  :class:`~rrgkit.models.region_proposers.AASProposer`) over the image;
* ``<stem>_attention.png`` (``<stem>_attention_<task>.png`` for each task
  of a :class:`~rrgkit.models.generators.TaskDuplicatedGenerator`): the
  attention of every generated word, when the decoder has
  ``forward_with_attention`` (SAT, AdaAtt, MDNet) and attends to spatial
  positions. The model's own generated report is teacher-forced to get one
  map per word;
* ``<stem>_tag_graph.png``: the medical tag graph, when the extras have
  ``tag_probs`` and ``graph_attention``
  (:class:`~rrgkit.models.encoders.TagGraphEncoder`, ASGK).

A model with nothing to show gets no pictures (empty lists).
"""
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import is_model_wrapper

from .drawing import draw_heatmap, draw_word_attention
from .tag_graph import draw_tag_graph

__all__ = ['display_images', 'model_pictures', 'word_attention']


def display_images(inputs: torch.Tensor,
                   data_preprocessor=None) -> np.ndarray:
    """Undo the data preprocessor's normalisation for display.

    Args:
        inputs (Tensor): ``(B, C, H, W)`` or ``(B, V, C, H, W)`` normalised
            images (the first view of a multi-view study is shown).
        data_preprocessor (nn.Module, optional): With ``mean`` and ``std``
            buffers in 0-255 units (``ReportDataPreprocessor``); without
            them the inputs are taken as 0-255 already. Defaults to None.

    Returns:
        ndarray: ``(B, H, W, 3)`` uint8 RGB images (one channel repeated).
    """
    if inputs.dim() == 5:
        inputs = inputs[:, 0]
    if inputs.dim() != 4:
        raise ValueError('inputs must be (B, C, H, W) or (B, V, C, H, W), '
                         f'got shape {tuple(inputs.shape)}')
    images = inputs.detach().float().cpu()
    mean = getattr(data_preprocessor, 'mean', None)
    std = getattr(data_preprocessor, 'std', None)
    if mean is not None and std is not None:
        images = images * std.detach().float().cpu().view(1, -1, 1, 1) + \
            mean.detach().float().cpu().view(1, -1, 1, 1)
    images = images.clamp(0, 255).round().to(torch.uint8)
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)
    if images.shape[1] != 3:
        raise ValueError(f'cannot display {images.shape[1]}-channel images')
    return images.permute(0, 2, 3, 1).numpy()


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _spatial_grid(visual) -> Optional[Tuple[int, int]]:
    """``(h, w)`` of the first view's map when the tokens are positions.

    Encoders that replace the tokens by other items (the tag graph's nodes)
    keep the spatial ones in ``extras['visual_tokens']``; their attention
    is not over the image.
    """
    if visual.feat_map is None or 'visual_tokens' in visual.extras:
        return None
    h, w = visual.feat_map.shape[-2:]
    if visual.tokens.shape[1] < h * w:
        return None
    return int(h), int(w)


def _generated_words(ids: Sequence[int], tokenizer):
    """The words of the decoded report and the steps that produced them.

    Like ``tokenizer.decode``: stop at ``<eos>``, skip ``<pad>``/``<bos>``.
    """
    vocab = tokenizer.vocab
    words, steps = [], []
    for t, i in enumerate(ids):
        if i == tokenizer.eos_id:
            break
        if i in (tokenizer.pad_id, tokenizer.bos_id):
            continue
        words.append(vocab[i])
        steps.append(t)
    return words, steps


@torch.no_grad()
def word_attention(model, visual, task_ids: Optional[torch.Tensor] = None):
    """Generate reports and teacher-force them to get per-word attention.

    Args:
        model (ReportGenerator): A generator whose decoder has
            ``forward_with_attention``.
        visual (VisualFeatures): Features of the sequences (already repeated
            per task for task duplication).
        task_ids (Tensor, optional): ``(B,)`` task of each sequence.
            Defaults to None.

    Returns:
        list[tuple]: Per sequence ``(words, alphas (T, N), betas (T,) or
        None)``: ``words`` are the tokens of the decoded report (as
        ``tokenizer.decode`` gives them) and row ``t`` of ``alphas`` is the
        attention used to predict word ``t``. For AdaAtt the sentinel
        column is removed from ``alphas`` and its weight is ``betas``.
    """
    tokenizer = model.tokenizer
    kwargs = {} if task_ids is None else dict(task_ids=task_ids)
    generated = model.generate(visual, **kwargs)  # (B, L), no <bos>
    bos = torch.full_like(generated[:, :1], tokenizer.bos_id)
    input_ids = torch.cat([bos, generated[:, :-1]], 1)
    if task_ids is None:
        out = model.decoder.forward_with_attention(visual, input_ids)
    else:
        out = model.decoder.forward_with_attention(visual, input_ids,
                                                   task_ids)
    alphas = out[1].float().cpu()
    betas = out[2].float().cpu() if len(out) > 2 else None
    if betas is not None:
        alphas = alphas[..., :-1]  # AdaAtt: the sentinel is last
    result = []
    for row, ids in enumerate(generated.tolist()):
        words, steps = _generated_words(ids, tokenizer)
        result.append((words, alphas[row, steps],
                       None if betas is None else betas[row, steps]))
    return result


def _safe(name: str) -> str:
    return re.sub(r'[^\w.-]+', '_', str(name)).strip('_') or 'image'


def _stems(data_samples, image_names, batch: int) -> List[str]:
    if image_names is not None:
        if len(image_names) != batch:
            raise ValueError(f'{len(image_names)} image_names for a batch '
                             f'of {batch}')
        names = [_safe(n) for n in image_names]
    else:
        names = []
        for i in range(batch):
            path = None
            if data_samples is not None and i < len(data_samples):
                path = data_samples[i].get('img_path', None)
            if isinstance(path, (list, tuple)):
                path = path[0] if path else None
            names.append(
                _safe(osp.splitext(osp.basename(str(path)))[0])
                if path else f'image_{i}')
    seen = {}
    for i, name in enumerate(names):  # keep file names apart
        if name in seen:
            names[i] = f'{name}_{i}'
        seen[name] = i
    return names


def _task_names(model) -> List[str]:
    names = list(model.description_names)
    if getattr(model, 'with_conclusion', False):
        names.append('conclusion')
    return names


def _attention_pictures(model, visual, images, stems, grid, out_dir,
                        max_words) -> List[List[str]]:
    from rrgkit.models.generators.task_duplicated_generator import \
        repeat_visual
    batch = visual.batch_size
    hw = grid[0] * grid[1]
    paths: List[List[str]] = [[] for _ in range(batch)]
    if hasattr(model, 'generate_tasks') and hasattr(model, 'num_tasks'):
        tasks = _task_names(model)
        n = model.num_tasks
        task_ids = torch.arange(
            n, device=visual.global_feat.device).repeat(batch)
        rows = word_attention(model, repeat_visual(visual, n), task_ids)
        jobs = [(i, rows[i * n + k], f'_{_safe(task)}', task)
                for i in range(batch) for k, task in enumerate(tasks)]
    else:
        rows = word_attention(model, visual)
        jobs = [(i, rows[i], '', None) for i in range(batch)]
    for i, (words, alphas, betas), suffix, title in jobs:
        out = osp.join(out_dir, f'{stems[i]}_attention{suffix}.png')
        draw_word_attention(images[i], words, alphas[:, :hw], grid, out=out,
                            max_words=max_words, betas=betas, title=title)
        paths[i].append(out)
    return paths


def _minmax(values: torch.Tensor) -> torch.Tensor:
    values = values.float()
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else values * 0


@torch.no_grad()
def model_pictures(model,
                   inputs: torch.Tensor,
                   data_samples: Optional[list] = None,
                   out_dir: Union[str, os.PathLike] = '.',
                   tag_names: Optional[Sequence[str]] = None,
                   image_names: Optional[Sequence[str]] = None,
                   max_words: int = 20,
                   node_threshold: float = 0.5,
                   edge_threshold: float = 0.3) -> List[List[str]]:
    """Write every picture the model can show for a preprocessed batch.

    The model is run in eval mode (its mode is restored afterwards). See
    the module docstring for the pictures and their file names.

    Args:
        model (BaseModel): A built rrgkit generator (``extract_feat``;
            ``generate``/``tokenizer``/``decoder`` for word attention),
            possibly wrapped (DDP).
        inputs (Tensor): ``(B, C, H, W)`` or ``(B, V, C, H, W)``, the
            output of the model's data preprocessor.
        data_samples (list, optional): The batch's samples; their
            ``img_path`` names the files. Defaults to None.
        out_dir (str | PathLike): Folder for the PNGs (created).
            Defaults to ``'.'``.
        tag_names (Sequence[str], optional): Names of the tag graph's nodes
            in the model's tag order (the dataset's ``tag_names``).
            Defaults to ``tag_0 ...``.
        image_names (Sequence[str], optional): File name stems, one per
            image; default: the stem of ``img_path``, else ``image_<i>``.
        max_words (int): Most word panels per attention picture.
            Defaults to 20.
        node_threshold (float): Tag-graph node threshold. Defaults to 0.5.
        edge_threshold (float): Tag-graph edge threshold. Defaults to 0.3.

    Returns:
        list[list[str]]: Per image, the paths of the PNGs written (empty
        when the model has nothing to show).
    """
    model = _unwrap(model)
    batch = inputs.shape[0]
    if not hasattr(model, 'extract_feat'):
        return [[] for _ in range(batch)]
    out_dir = os.fspath(out_dir)
    was_training = model.training
    model.eval()
    try:
        visual, _ = model.extract_feat(inputs)
        images = display_images(inputs,
                                getattr(model, 'data_preprocessor', None))
        stems = _stems(data_samples, image_names, batch)
        paths: List[List[str]] = [[] for _ in range(batch)]
        extras = visual.extras
        grid = _spatial_grid(visual)
        heatmap = extras.get('heatmap')
        boxes = extras.get('region_boxes')
        class_map = extras.get('class_map')  # (B, N) over the positions
        if grid is None or class_map is None or class_map.dim() != 2 or \
                class_map.shape[1] < grid[0] * grid[1]:
            class_map = None
        probs = extras.get('tag_probs')
        edges = extras.get('graph_attention')
        for i in range(batch):
            if heatmap is not None:
                out = osp.join(out_dir, f'{stems[i]}_heatmap.png')
                box = None if boxes is None else boxes[i]
                draw_heatmap(images[i], heatmap[i].clamp(0, 1), box, out=out)
                paths[i].append(out)
            if class_map is not None:
                cmap = class_map[i, :grid[0] * grid[1]].view(grid)
                out = osp.join(out_dir, f'{stems[i]}_class_map.png')
                draw_heatmap(images[i], _minmax(cmap), out=out)
                paths[i].append(out)
        decoder = getattr(model, 'decoder', None)
        if grid is not None and hasattr(decoder, 'forward_with_attention'):
            for i, more in enumerate(
                    _attention_pictures(model, visual, images, stems, grid,
                                        out_dir, max_words)):
                paths[i].extend(more)
        if probs is not None and edges is not None:
            for i in range(batch):
                out = osp.join(out_dir, f'{stems[i]}_tag_graph.png')
                draw_tag_graph(probs[i], edges[i], tag_names, out=out,
                               node_threshold=node_threshold,
                               edge_threshold=edge_threshold)
                paths[i].append(out)
        return paths
    finally:
        model.train(was_training)
