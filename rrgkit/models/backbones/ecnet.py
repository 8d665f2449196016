# Copyright (c) rrgkit contributors. All rights reserved.
"""EcNet: MDNet's image model, a pre-activation ResNet with ensemble skips.

Zhang et al., "MDNet: A Semantically and Visually Interpretable Medical Image
Diagnosis Network", CVPR 2017, Sec. 3 (image model). A pre-activation
residual unit computes ``y_{l+1} = y_l + F_l(y_l)``, so the classifier only
sees the *sum* of all the shallow paths a ResNet is an ensemble of. MDNet's
*ensemble-connection* concatenates instead, ``y_{l+1} = F_l(y_l) (+) y_l``,
so the classifier sees every group's output side by side. It is used where
the feature size changes (the first unit of every group after the first);
inside a group the units keep identity skips.

Layout for ``depth = 9 n + 2`` (3 groups of ``n`` bottleneck units, 3 convs
each, plus the stem conv and the classifier) and widen factor ``k``:

* group ``g`` (0, 1, 2): bottleneck width ``mid_g = 4 k 2^g`` and residual
  branch output ``o_g = 16 k 2^g`` (``k = 4`` gives pre-act ResNet-164's
  16/32/64 -> 64/128/256);
* group 0 starts with a pre-act projection shortcut (stem width -> ``o_0``);
* group ``g >= 1`` starts with an ensemble unit: the branch (stride 2 in its
  3x3 conv) emits ``o_g`` channels and the 2x2-pooled input is appended,
  so the group width is ``c_g = o_g + c_{g-1}``: 64/192/448 for ``k = 4``;
* a final BN + ReLU (the pre-activation of the classifier) ends the net.

Parameter counts (counted by ``tests/.../test_ecnet.py``; backbone only /
with a CIFAR-10 ``Linear`` classifier) against the numbers quoted for MDNet:
``110-4``: 1.429M / 1.433M (quoted ~1.8M), ``56-12``: 6.199M / 6.212M
(quoted ~8.0M), ``38-8``: 1.796M / 1.805M (quoted ~2.3M). The unit design
and where the concatenation goes follow the paper; the per-group widths are
not spelled out in the text, so they follow pre-act ResNet-164 scaled by
``k / 4``. That literal layout lands ~20% below all three quoted counts (a
constant ratio, so the quoted nets are ~12% wider per layer by a detail we
could not recover). Where an exact count matters, change the widths through
an ``arch`` dict (``base_channels``, ``expansion``).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from rrgkit.registry import MODELS

__all__ = ['EcNet', 'EcBottleneck']

STEMS = ('cifar', 'imagenet')
POOLS = ('avg', 'max')
CONNECTIONS = ('residual', 'ensemble')
ARCH_KEYS = ('depth', 'widen_factor', 'base_channels', 'expansion',
             'num_stages')


class EcBottleneck(BaseModule):
    """Pre-activation bottleneck unit with a residual or ensemble skip.

    The branch is ``BN-ReLU-conv1x1, BN-ReLU-conv3x3 (stride), BN-ReLU-
    conv1x1``. ``connection='residual'`` adds the input back (through a 1x1
    projection of the pre-activated input where the shape changes);
    ``connection='ensemble'`` concatenates ``[branch(x), pool(x)]`` along the
    channels, the input pooled (no parameters) to the branch's size.

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Bottleneck (3x3 conv) channels.
        branch_channels (int): Channels the residual branch emits.
        stride (int): Stride of the 3x3 conv. Defaults to 1.
        connection (str): ``'residual'`` or ``'ensemble'``.
            Defaults to ``'residual'``.
        pool_type (str): How the ensemble skip downsamples the input,
            ``'avg'`` or ``'max'``. Defaults to ``'avg'``.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 branch_channels: int,
                 stride: int = 1,
                 connection: str = 'residual',
                 pool_type: str = 'avg',
                 norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg)
        if connection not in CONNECTIONS:
            raise ValueError(f'EcBottleneck: connection must be one of '
                             f'{CONNECTIONS}, got {connection!r}')
        if pool_type not in POOLS:
            raise ValueError(f'EcBottleneck: pool_type must be one of '
                             f'{POOLS}, got {pool_type!r}')
        norm_cfg = norm_cfg or dict(type='BN')
        self.connection = connection
        self.pool_type = pool_type
        self.stride = stride
        self.branch_channels = branch_channels
        self.out_channels = (branch_channels + in_channels
                             if connection == 'ensemble' else branch_channels)
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv2 = nn.Conv2d(
            mid_channels, mid_channels, 3, stride, padding=1, bias=False)
        self.norm3 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv3 = nn.Conv2d(mid_channels, branch_channels, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.projection = None
        if connection == 'residual' and (stride != 1
                                         or in_channels != branch_channels):
            self.projection = nn.Conv2d(
                in_channels, branch_channels, 1, stride, bias=False)

    def _pool(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        # Adaptive pooling equals 2x2/stride-2 pooling on even sizes and
        # still matches the strided conv's ceil(H/2) on odd ones.
        if self.pool_type == 'avg':
            return F.adaptive_avg_pool2d(x, size)
        return F.adaptive_max_pool2d(x, size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.relu(self.norm1(x))
        out = self.conv1(pre)
        out = self.conv2(self.relu(self.norm2(out)))
        out = self.conv3(self.relu(self.norm3(out)))
        if self.connection == 'ensemble':
            return torch.cat([out, self._pool(x, out.shape[-2:])], dim=1)
        shortcut = x if self.projection is None else self.projection(pre)
        return out + shortcut


@MODELS.register_module()
class EcNet(BaseModule):
    """MDNet's image model (EcNet), an mmpretrain-style backbone.

    See the module docstring for the layout and the parameter counts.

    Args:
        arch (str | dict): ``'38-8'`` (the small net MDNet uses on BCIDR),
            ``'56-12'`` or ``'110-4'`` (depth-widen factor), or a dict with
            ``depth`` (``3 * num_stages * n + 2``) and ``widen_factor``, and
            optionally ``base_channels`` (branch output of group 0 per unit
            of widen factor, default 16), ``expansion`` (branch output /
            bottleneck width, default 4) and ``num_stages`` (default 3).
            Defaults to ``'38-8'``.
        in_channels (int): Image channels. Defaults to 3.
        stem (str): ``'cifar'`` (3x3 conv, stride 1: for ~32 px images) or
            ``'imagenet'`` (7x7 conv stride 2 + BN-ReLU + 3x3 max pool
            stride 2: for 128/224 px images). Defaults to ``'cifar'``.
        stem_channels (int, optional): Stem width; None gives 16 for the
            cifar stem and 64 for the imagenet stem. Defaults to None.
        pool_type (str): Downsampling of the ensemble skip, ``'avg'`` or
            ``'max'``. Defaults to ``'avg'``.
        out_indices (Sequence[int]): Groups whose outputs are returned
            (negative counts from the end). The last group's output is
            returned after the final BN + ReLU; the others raw.
            Defaults to ``(-1,)``.
        frozen_stages (int): ``-1`` freezes nothing, ``0`` the stem, ``i``
            the stem and groups ``0..i-1`` (``num_stages`` also the final
            norm): no gradient, norms in eval mode. Defaults to -1.
        norm_eval (bool): Keep every norm layer in eval mode while training
            (frozen running statistics). Defaults to False.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN', requires_grad=True)``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to Kaiming for convs and 1 for norms.

    Attributes:
        out_channels (int): Channels of the last output.
        stage_channels (list[int]): Output channels of every group.
    """

    arch_settings: Dict[str, dict] = {
        '38-8': dict(depth=38, widen_factor=8),
        '56-12': dict(depth=56, widen_factor=12),
        '110-4': dict(depth=110, widen_factor=4),
    }

    def __init__(self,
                 arch: Union[str, dict] = '38-8',
                 in_channels: int = 3,
                 stem: str = 'cifar',
                 stem_channels: Optional[int] = None,
                 pool_type: str = 'avg',
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg: Optional[Union[dict, List[dict]]] = [
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(type='Constant', val=1,
                          layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(init_cfg)
        cfg = self._parse_arch(arch)
        if stem not in STEMS:
            raise ValueError(f'EcNet: stem must be one of {STEMS}, got '
                             f'{stem!r}')
        if pool_type not in POOLS:
            raise ValueError(f'EcNet: pool_type must be one of {POOLS}, got '
                             f'{pool_type!r}')
        self.arch = cfg
        self.num_stages = cfg['num_stages']
        self.out_indices = self._parse_out_indices(out_indices)
        if not -1 <= frozen_stages <= self.num_stages:
            raise ValueError(f'EcNet: frozen_stages must be in [-1, '
                             f'{self.num_stages}], got {frozen_stages}')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        if stem_channels is None:
            stem_channels = 16 if stem == 'cifar' else 64
        self.stem = self._make_stem(stem, in_channels, stem_channels,
                                    norm_cfg)
        blocks_per_stage = (cfg['depth'] - 2) // (3 * self.num_stages)
        self.stages = nn.ModuleList()
        self.stage_channels: List[int] = []
        channels = stem_channels
        for g in range(self.num_stages):
            branch = cfg['base_channels'] * cfg['widen_factor'] * 2**g
            mid = branch // cfg['expansion']
            stage = []
            for i in range(blocks_per_stage):
                first = i == 0
                block = EcBottleneck(
                    channels, mid, branch if first else channels,
                    stride=2 if first and g > 0 else 1,
                    connection='ensemble' if first and g > 0 else 'residual',
                    pool_type=pool_type, norm_cfg=norm_cfg)
                stage.append(block)
                channels = block.out_channels
            self.stages.append(nn.Sequential(*stage))
            self.stage_channels.append(channels)
        self.final_norm = build_norm_layer(norm_cfg, channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = self.stage_channels[self.out_indices[-1]]
        self._freeze_stages()

    # ----------------------------------------------------------------- config
    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise ValueError(
                    f'EcNet: unknown arch {arch!r}; valid archs are '
                    f'{sorted(cls.arch_settings)} (depth-widen factor), or '
                    'a dict such as dict(depth=38, widen_factor=8)')
            arch = cls.arch_settings[arch]
        if not isinstance(arch, dict):
            raise TypeError(f'EcNet: arch must be a str or dict, got '
                            f'{type(arch).__name__}')
        unknown = set(arch) - set(ARCH_KEYS)
        if unknown or not {'depth', 'widen_factor'} <= set(arch):
            raise ValueError(
                f'EcNet: an arch dict needs keys depth and widen_factor '
                f'(optional: base_channels, expansion, num_stages); got '
                f'{sorted(arch)}' +
                (f', unknown {sorted(unknown)}' if unknown else ''))
        cfg = dict(base_channels=16, expansion=4, num_stages=3)
        cfg.update(arch)
        for key in ARCH_KEYS:
            if not isinstance(cfg[key], int) or cfg[key] < 1:
                raise ValueError(f'EcNet: arch[{key!r}] must be a positive '
                                 f'int, got {cfg[key]!r}')
        per = 3 * cfg['num_stages']
        if (cfg['depth'] - 2) % per or cfg['depth'] < per + 2:
            raise ValueError(
                f'EcNet: arch depth={cfg["depth"]} is not 9 n + 2 (3 convs '
                f'x {cfg["num_stages"]} groups x n units + 2), e.g. 11, 38, '
                '56, 110 for 3 groups')
        branch = cfg['base_channels'] * cfg['widen_factor']
        if branch % cfg['expansion']:
            raise ValueError(
                f'EcNet: base_channels * widen_factor ({branch}) must be '
                f'divisible by expansion ({cfg["expansion"]})')
        return cfg

    def _parse_out_indices(self, out_indices: Sequence[int]) -> List[int]:
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        parsed = []
        for index in out_indices:
            if not -self.num_stages <= index < self.num_stages:
                raise ValueError(
                    f'EcNet: out_indices entry {index} is out of range for '
                    f'{self.num_stages} groups')
            parsed.append(index % self.num_stages)
        if not parsed:
            raise ValueError('EcNet: out_indices must not be empty')
        return sorted(set(parsed))

    @staticmethod
    def _make_stem(stem: str, in_channels: int, channels: int,
                   norm_cfg: dict) -> nn.Sequential:
        if stem == 'cifar':
            # Pre-activation: the first unit normalises the stem output.
            return nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=1, bias=False))
        return nn.Sequential(
            nn.Conv2d(in_channels, channels, 7, 2, padding=3, bias=False),
            build_norm_layer(norm_cfg, channels)[1], nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, padding=1))

    # ---------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Feature maps of the groups in ``out_indices``.

        Args:
            x (Tensor): ``(B, in_channels, H, W)`` images.

        Returns:
            tuple[Tensor]: One ``(B, C_g, h_g, w_g)`` map per out index; the
            last group's map is the ensemble after the final BN + ReLU.
        """
        x = self.stem(x)
        outs = []
        for g, stage in enumerate(self.stages):
            x = stage(x)
            if g == self.num_stages - 1:
                x = self.relu(self.final_norm(x))
            if g in self.out_indices:
                outs.append(x)
        return tuple(outs)

    # ------------------------------------------------------------- freezing
    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules = [self.stem] + list(self.stages[:self.frozen_stages])
        if self.frozen_stages == self.num_stages:
            modules.append(self.final_norm)
        return modules

    def _freeze_stages(self) -> None:
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'EcNet':
        """Set train mode, keeping frozen stages (and norms) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
