# Copyright (c) rrgkit contributors. All rights reserved.
"""Batching and normalisation of packed report inputs."""
from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from rrgkit.registry import MODELS

__all__ = ['ReportDataPreprocessor']


def _stack(values) -> torch.Tensor:
    if isinstance(values, (list, tuple)):
        return torch.stack(list(values))
    return values


@MODELS.register_module()
class ReportDataPreprocessor(BaseDataPreprocessor):
    """Stack images into a batch, move it to the device and normalise it.

    Accepts ``(C, H, W)`` images (one view per study) or ``(V, C, H, W)``
    (several views); the batch becomes ``(B, C, H, W)`` or
    ``(B, V, C, H, W)``. Cached features (a dict of arrays per study, from
    the dataset's ``feature_cache``) are stacked per key and cast to
    float32, not normalised.

    Args:
        mean (Sequence[float]): Per-channel mean in 0-255 units.
            Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std in 0-255 units.
            Defaults to ImageNet's.
        non_blocking (bool): Asynchronous host-to-device copies.
            Defaults to False.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Batch ``data['inputs']`` and normalise it.

        Args:
            data (dict): ``inputs`` (list of uint8 tensors or a batch tensor)
                and ``data_samples`` from the dataloader.
            training (bool): Unused; kept for the mmengine interface.

        Returns:
            dict: ``inputs`` as a float tensor and the data samples.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, dict):  # cached features: already normalised
            inputs = {k: _stack(v) for k, v in inputs.items()}
            inputs = {k: v.float() if v.is_floating_point() else v
                      for k, v in inputs.items()}
            return dict(inputs=inputs, data_samples=data.get('data_samples'))
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise ValueError(
                    'Images in one batch have different shapes '
                    f'{sorted(shapes)}; add a fixed-size Resize to the data '
                    'pipeline (e.g. dict(type="Resize", scale=(224, 224), '
                    'keep_ratio=False)).')
            inputs = torch.stack(list(inputs))
        channels = inputs.shape[-3]
        if channels != self.mean.numel():
            raise ValueError(
                f'Images have {channels} channels but the data preprocessor '
                f'normalises {self.mean.numel()}; set its mean/std or the '
                'loader color_type to match.')
        inputs = (inputs.float() - self.mean) / self.std
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
