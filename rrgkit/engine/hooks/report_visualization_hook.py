# Copyright (c) rrgkit contributors. All rights reserved.
"""Draw heat maps, word attention and tag graphs of fixed val images."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from PIL import Image

from rrgkit.registry import HOOKS

__all__ = ['ReportVisualizationHook']


@HOOKS.register_module()
class ReportVisualizationHook(Hook):
    """Write the model's pictures for a few fixed val images.

    After every ``interval``-th validation during training, the first
    ``num_images`` samples of the val dataset (the same ones every time) go
    through :func:`rrgkit.visualization.model_pictures`. The PNGs are
    written to ``<work_dir>/<timestamp>/vis/epoch_<n>/`` (``iter_<n>`` for
    iteration-based training) and handed to the runner's visualizer as
    ``runner.visualizer.add_image(<file stem>, image, step=n)``, which writes
    them under ``vis_data/vis_image/`` with a ``LocalVisBackend`` and to
    TensorBoard when a ``TensorboardVisBackend`` is configured.

    Models with nothing to show (no heat map, no spatial word attention, no
    tag graph) get nothing written. A failure while drawing is logged as a
    warning and training goes on, unless ``strict=True``.

    Args:
        interval (int): Draw at every ``interval``-th epoch (or iteration
            count for iteration-based training) that is validated.
            Defaults to 1.
        num_images (int): How many val samples, from the first. Defaults
            to 4.
        max_words (int): Most word panels per attention picture.
            Defaults to 20.
        tag_names (Sequence[str], optional): Tag-graph node names; defaults
            to the val dataset's ``metainfo['tag_names']``.
        add_to_visualizer (bool): Also send the pictures to
            ``runner.visualizer``. Defaults to True.
        strict (bool): Raise drawing errors instead of logging them.
            Defaults to False.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1,
                 num_images: int = 4,
                 max_words: int = 20,
                 tag_names: Optional[Sequence[str]] = None,
                 add_to_visualizer: bool = True,
                 strict: bool = False) -> None:
        if int(interval) < 1 or int(num_images) < 1:
            raise ValueError('ReportVisualizationHook: interval and '
                             f'num_images must be >= 1, got {interval} and '
                             f'{num_images}')
        self.interval = int(interval)
        self.num_images = int(num_images)
        self.max_words = int(max_words)
        self.tag_names = None if tag_names is None else list(tag_names)
        self.add_to_visualizer = add_to_visualizer
        self.strict = strict
        self._items: Optional[list] = None
        self._told_empty = False

    @staticmethod
    def _step(runner):
        """``('epoch' | 'iter', n)`` of the training progress."""
        loop = getattr(runner, '_train_loop', None)
        if isinstance(loop, IterBasedTrainLoop):
            return 'iter', runner.iter
        return 'epoch', runner.epoch

    def _fixed_items(self, dataset) -> list:
        if self._items is None:
            count = min(self.num_images, len(dataset))
            self._items = [dataset[i] for i in range(count)]
        return self._items

    def draw(self, runner, unit: str, step: int) -> List[str]:
        """Draw the pictures of the fixed images; returns the PNG paths."""
        from rrgkit.visualization import model_pictures
        loader = runner.val_dataloader
        dataset = loader.dataset
        items = self._fixed_items(dataset)
        if not items:
            return []
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        data = model.data_preprocessor(loader.collate_fn(items), False)
        tag_names = self.tag_names
        if tag_names is None:
            tag_names = getattr(dataset, 'metainfo', {}).get('tag_names')
        out_dir = osp.join(runner.log_dir, 'vis', f'{unit}_{step}')
        per_image = model_pictures(
            model, data['inputs'], data.get('data_samples'), out_dir,
            tag_names=tag_names, max_words=self.max_words)
        paths = [p for image_paths in per_image for p in image_paths]
        if self.add_to_visualizer:
            for path in paths:
                name = osp.splitext(osp.basename(path))[0]
                with Image.open(path) as img:
                    array = np.asarray(img.convert('RGB'))
                runner.visualizer.add_image(name, array, step=step)
        return paths

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Draw after validation, every ``interval`` epochs."""
        unit, step = self._step(runner)
        if step % self.interval or not is_main_process():
            return
        try:
            paths = self.draw(runner, unit, step)
        except Exception as err:
            if self.strict:
                raise
            runner.logger.warning(
                f'ReportVisualizationHook: no pictures at {unit} {step}: '
                f'{type(err).__name__}: {err}')
            return
        if paths:
            runner.logger.info(
                f'ReportVisualizationHook: {len(paths)} pictures in '
                f'{osp.dirname(paths[0])}')
        elif not self._told_empty:
            self._told_empty = True
            runner.logger.info(
                'ReportVisualizationHook: the model has nothing to draw '
                '(no heat map, spatial word attention or tag graph).')
