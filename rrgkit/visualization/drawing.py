# Copyright (c) rrgkit contributors. All rights reserved.
"""Pure drawing functions: arrays in, PNG pictures out.

Pictures that explain what a report generator looked at:

* :func:`draw_heatmap`: a heat map (e.g. ASGK's CAM) over the image, with
  the cropped region box;
* :func:`draw_word_attention`: one panel per generated word with the
  attention it used, upsampled over the image (SAT, AdaAtt, MDNet);
* :func:`~rrgkit.visualization.tag_graph.draw_tag_graph` (in
  :mod:`.tag_graph`): the medical tag graph.

Inputs may be numpy arrays or tensors. Matplotlib is only used through its
Agg canvas (no pyplot state, no display needed).
"""
import math
import os
import os.path as osp
import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image, ImageDraw

__all__ = [
    'to_rgb_image', 'resize_map', 'draw_heatmap', 'draw_word_attention',
    'save_png'
]

PathLike = Union[str, os.PathLike]


def _as_numpy(value, name: str) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.float()
        value = value.numpy()
    try:
        return np.asarray(value)
    except Exception as err:  # pragma: no cover - exotic input
        raise TypeError(f'{name} must be an array or tensor, got '
                        f'{type(value).__name__}') from err


def to_rgb_image(image) -> np.ndarray:
    """Turn an image into ``(H, W, 3)`` uint8 RGB.

    Args:
        image (ndarray | Tensor): ``(H, W)``, ``(H, W, 1|3)`` or
            ``(1|3, H, W)``; uint8, or float in [0, 1] (any maximum above 1
            is read as 0-255 and clipped).

    Returns:
        ndarray: ``(H, W, 3)`` uint8.
    """
    img = _as_numpy(image, 'image')
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1,
                                                                          3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] != 3 or 0 in img.shape:
        raise ValueError('image must be (H, W), (H, W, 3) or (3, H, W), got '
                         f'shape {img.shape}')
    if img.dtype == np.uint8:
        return img
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError('image has NaN or infinite values')
    if img.max() <= 1.0:
        img = img * 255.0
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def resize_map(values, size: Tuple[int, int]) -> np.ndarray:
    """Bilinearly resize a 2-D map to ``size = (H, W)`` (float32)."""
    arr = _as_numpy(values, 'map').astype(np.float32)
    if arr.ndim != 2:
        raise ValueError(f'expected a 2-D map, got shape {arr.shape}')
    H, W = size
    if arr.shape == (H, W):
        return arr
    return np.asarray(
        Image.fromarray(arr).resize((W, H), Image.BILINEAR))


def _colormap(name: str):
    import matplotlib
    try:
        return matplotlib.colormaps[name]
    except KeyError as err:
        raise ValueError(f'unknown matplotlib colormap {name!r}') from err


def _overlay(rgb: np.ndarray, heat: np.ndarray, alpha: float,
             cmap: str) -> np.ndarray:
    colours = _colormap(cmap)(np.clip(heat, 0.0, 1.0))[..., :3] * 255.0
    out = (1.0 - alpha) * rgb.astype(np.float64) + alpha * colours
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def save_png(array: np.ndarray, out: PathLike) -> str:
    """Write an ``(H, W, 3)`` uint8 array as PNG (folders created)."""
    out = os.fspath(out)
    folder = osp.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    Image.fromarray(array).save(out, format='PNG')
    return out


def draw_heatmap(image,
                 heatmap,
                 box: Optional[Sequence[float]] = None,
                 out: Optional[PathLike] = None,
                 alpha: float = 0.5,
                 cmap: str = 'jet',
                 box_color: Tuple[int, int, int] = (0, 255, 0)) -> np.ndarray:
    """Overlay a heat map on the image and outline the region box.

    The picture has exactly the image's size.

    Args:
        image (ndarray | Tensor): The image, see :func:`to_rgb_image`.
        heatmap (ndarray | Tensor): ``(h, w)`` values in [0, 1] (clipped);
            resized bilinearly to the image when its size differs.
        box (Sequence[float], optional): ``x1, y1, x2, y2`` pixel edges of
            the region (e.g. the CAM-threshold crop), clipped to the image.
            Defaults to None.
        out (str | PathLike, optional): PNG file to write. Defaults to None.
        alpha (float): Heat-map opacity in [0, 1]. Defaults to 0.5.
        cmap (str): Matplotlib colormap name. Defaults to ``'jet'``.
        box_color (tuple): RGB of the box outline. Defaults to green.

    Returns:
        ndarray: The picture, ``(H, W, 3)`` uint8.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    rgb = to_rgb_image(image)
    H, W = rgb.shape[:2]
    heat = resize_map(heatmap, (H, W))
    if not np.isfinite(heat).all():
        raise ValueError('heatmap has NaN or infinite values')
    picture = Image.fromarray(_overlay(rgb, heat, alpha, cmap))
    if box is not None:
        coords = _as_numpy(box, 'box').astype(np.float64).reshape(-1)
        if coords.size != 4:
            raise ValueError(f'box must be (x1, y1, x2, y2), got {coords}')
        x1, x2 = np.clip(coords[[0, 2]], 0, W)
        y1, y2 = np.clip(coords[[1, 3]], 0, H)
        width = max(1, round(min(H, W) / 64))
        ImageDraw.Draw(picture).rectangle(
            [int(x1), int(y1), max(int(x1), math.ceil(x2) - 1),
             max(int(y1), math.ceil(y2) - 1)],
            outline=tuple(box_color), width=width)
    array = np.asarray(picture)
    if out is not None:
        save_png(array, out)
    return array


def _figure(width: float, height: float, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _render(fig, out: Optional[PathLike]) -> np.ndarray:
    with warnings.catch_warnings():
        # Words a font cannot show become boxes; one warning per glyph
        # would flood training logs of Chinese models.
        warnings.filterwarnings('ignore', message='Glyph .* missing')
        fig.canvas.draw()
    array = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    if out is not None:
        save_png(array, out)
    return array


def _font_family(texts: Sequence[str]) -> Optional[list]:
    """A CJK-capable font list when some text needs one and one exists."""
    if all(t.isascii() for t in texts):
        return None
    from matplotlib import font_manager
    hints = ('CJK', 'Hei', 'Song', 'Ming', 'Kai', 'WenQuanYi', 'SC', 'TC')
    names = sorted({f.name for f in font_manager.fontManager.ttflist
                    if any(h in f.name for h in hints)})
    return names + ['DejaVu Sans'] if names else None


def draw_word_attention(image,
                        words: Sequence[str],
                        alphas,
                        grid: Tuple[int, int],
                        out: Optional[PathLike] = None,
                        max_words: int = 20,
                        betas=None,
                        ncols: int = 5,
                        panel_size: float = 2.0,
                        dpi: int = 100,
                        alpha: float = 0.6,
                        cmap: str = 'jet',
                        title: Optional[str] = None) -> np.ndarray:
    """One panel per generated word with its attention over the image.

    The first panel is the image itself, then one panel per word (at most
    ``max_words``): the word's attention map ``(h, w)``, upsampled
    bilinearly to the image and stretched to its own minimum and maximum
    (as in Show, Attend and Tell's pictures), over the image; a uniform map
    shows the colormap's lowest colour.
    The picture is ``ncols * panel_size * dpi`` pixels wide (fewer columns
    when there are fewer panels) and ``rows * panel_size * dpi`` high.

    Args:
        image (ndarray | Tensor): The image, see :func:`to_rgb_image`.
        words (Sequence[str]): The generated words, in order.
        alphas (ndarray | Tensor): ``(T, h * w)`` attention of each word
            (``T >= len(words)``; extra rows are ignored).
        grid (tuple[int, int]): ``(h, w)`` of the attended feature map.
        out (str | PathLike, optional): PNG file to write. Defaults to None.
        max_words (int): Most words drawn. Defaults to 20.
        betas (ndarray | Tensor, optional): ``(T,)`` weight of AdaAtt's
            visual sentinel per word, shown in the panel titles.
            Defaults to None.
        ncols (int): Panels per row. Defaults to 5.
        panel_size (float): Panel side in inches. Defaults to 2.0.
        dpi (int): Dots per inch. Defaults to 100.
        alpha (float): Opacity of the attention colours. Defaults to 0.6.
        cmap (str): Matplotlib colormap name. Defaults to ``'jet'``.
        title (str, optional): Figure title. Defaults to None.

    Returns:
        ndarray: The picture, ``(rows * px, cols * px, 3)`` uint8.
    """
    h, w = (int(v) for v in grid)
    weights = _as_numpy(alphas, 'alphas').astype(np.float32)
    words = [str(word) for word in words]
    if weights.ndim != 2 or weights.shape[1] != h * w:
        raise ValueError(f'alphas must be (T, h*w) = (T, {h * w}) for grid '
                         f'{(h, w)}, got shape {weights.shape}')
    if weights.shape[0] < len(words):
        raise ValueError(f'{len(words)} words but only {weights.shape[0]} '
                         'attention rows')
    if max_words < 1 or ncols < 1:
        raise ValueError('max_words and ncols must be positive')
    beta = None if betas is None else _as_numpy(betas, 'betas').reshape(-1)
    if beta is not None and beta.size < len(words):
        raise ValueError(f'{len(words)} words but {beta.size} betas')
    rgb = to_rgb_image(image)
    H, W = rgb.shape[:2]
    shown = words[:max_words]
    panels = 1 + len(shown)
    cols = min(ncols, panels)
    rows = math.ceil(panels / cols)
    fig = _figure(cols * panel_size, rows * panel_size, dpi)
    family = _font_family(shown + [title or ''])
    first = 'input' if words else 'input (no words generated)'
    for k in range(rows * cols):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_axis_off()
        if k >= panels:
            continue
        if k == 0:
            ax.imshow(rgb)
            ax.set_title(first, fontsize=9)
            continue
        t = k - 1
        heat = resize_map(weights[t].reshape(h, w), (H, W))
        low, high = float(heat.min()), float(heat.max())
        heat = (heat - low) / (high - low) if high > low else heat * 0.0
        ax.imshow(_overlay(rgb, heat, alpha, cmap))
        label = shown[t]
        if beta is not None:
            label += f' (\u03b2={float(beta[t]):.2f})'
        ax.set_title(label, fontsize=9, family=family)
    if title:
        fig.suptitle(title, fontsize=10, family=family)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01,
                        top=0.88 if title else 0.92, wspace=0.05,
                        hspace=0.25)
    return _render(fig, out)
