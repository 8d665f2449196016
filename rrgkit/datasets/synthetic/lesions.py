# Copyright (c) rrgkit contributors. All rights reserved.
"""Finding (lesion) drawing on top of the anatomy from ``phantom.py``.

Same conventions as :mod:`.phantom`: the patient's right lung is on the
image left, and boxes are ``[x1, y1, x2, y2]`` pixel edges (``x1 <= x < x2``,
``y1 <= y < y2``). :func:`render_slice` composes anatomy, findings and the
acquisition finish into one 8-bit slice.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .phantom import (Anatomy, Lung, _ellipse, _grid, _soft, draw_anatomy,
                      finish_slice, smooth_noise)

__all__ = ['draw_findings', 'render_slice']


def _box(mask: np.ndarray) -> Optional[List[float]]:
    """Box ``[x1, y1, x2, y2]`` of the pixels where ``mask > 0.5``.

    Args:
        mask (np.ndarray): Soft 2-D mask.

    Returns:
        list | None: Pixel-edge box, or None when no pixel passes.
    """
    ys, xs = np.nonzero(mask > 0.5)
    if xs.size == 0:
        return None
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1),
            float(ys.max() + 1)]


# (min, max) radius as a fraction of the image side, per type and size.
_RADII = {
    'ground-glass opacity': {'small': (0.05, 0.065), 'medium': (0.07, 0.09),
                             'large': (0.1, 0.125)},
    'consolidation': {'small': (0.045, 0.058), 'medium': (0.062, 0.078),
                      'large': (0.085, 0.105)},
    'nodule': {'small': (0.022, 0.027), 'medium': (0.03, 0.037),
               'large': (0.042, 0.05)},
    'lymphadenopathy': {'medium': (0.045, 0.055), 'large': (0.06, 0.072)},
}
# Effusion crescent thickness as a fraction of the lung's AP semi-axis.
_EFFUSION = {'small': (0.24, 0.32), 'medium': (0.36, 0.46),
             'large': (0.52, 0.64)}
_ARCS = {'peripheral': (-0.6, 0.6), 'anterior': (-2.0, -1.25),
         'posterior': (1.25, 2.0)}


def _centre(lung: Lung, location: str, radius: float, inside: float,
            rng: np.random.Generator) -> Tuple[float, float]:
    """Pick a lesion centre; ``inside`` = how many radii lie inside."""
    if location == 'central':
        return lung.to_image(rng.uniform(-0.55, -0.15),
                             rng.uniform(-0.35, 0.3))
    theta = rng.uniform(*_ARCS[location])
    c, s = math.cos(theta), math.sin(theta)
    r_eff = radius / math.hypot(lung.ax * c, lung.ay * s)
    r = max(0.15, 1.0 - inside * r_eff)
    return lung.to_image(r * c, r * s)


def _patch(xs, ys, x, y, radius, edge, rng) -> np.ndarray:
    """Irregular patch: the union of 2-3 wobbly ellipses."""
    alpha = np.zeros_like(xs)
    for i in range(int(rng.integers(2, 4))):
        ox, oy = (0.0, 0.0) if i == 0 else rng.normal(0, 0.45 * radius, 2)
        sub = radius * (1.0 if i == 0 else rng.uniform(0.55, 0.85))
        aspect = rng.uniform(0.65, 1.0)
        harm = [(k, rng.uniform(0, 0.12), rng.uniform(0, 2 * math.pi))
                for k in (2, 3)]
        alpha = np.maximum(alpha, _ellipse(
            xs, ys, x + ox, y + oy, sub, sub * aspect, rng.uniform(0, math.pi),
            harm, edge=edge))
    return alpha


def _lung_lesion(img, xs, ys, lung, mask, finding, rng):
    """Draw a ground-glass opacity, consolidation or nodule in place.

    Args:
        img (np.ndarray): Float image (modified).
        xs, ys (np.ndarray): Pixel-centre grids.
        lung (Lung): The lung holding the lesion.
        mask (np.ndarray): That lung's soft mask.
        finding (dict): The finding (``type``, ``location``, ``size``).
        rng (np.random.Generator): The finding-geometry stream.

    Returns:
        np.ndarray: The lesion's soft mask.
    """
    kind, size = finding['type'], finding['size']
    radius = rng.uniform(*_RADII[kind][size]) * xs.shape[0]
    nominal = math.pi * radius * radius
    for attempt in range(10):
        inside = 1.35 if kind == 'nodule' else 0.55
        if attempt == 9:  # always-visible fallback: the lung centre
            x, y = lung.to_image(0.0, 0.0)
        else:
            x, y = _centre(lung, finding['location'], radius, inside, rng)
        if kind == 'nodule':
            aspect = rng.uniform(0.85, 1.0)
            shape = _ellipse(xs, ys, x, y, radius, radius * aspect,
                             rng.uniform(0, math.pi), edge=0.7)
        else:
            edge = radius * (0.35 if kind == 'ground-glass opacity' else 0.12)
            shape = _patch(xs, ys, x, y, radius, edge, rng)
        alpha = shape * mask
        if (alpha > 0.5).sum() >= 0.35 * nominal:
            break
    if kind == 'ground-glass opacity':
        texture = 0.55 + 0.45 * smooth_noise(rng, xs.shape[0], 12)
        img += alpha * texture * rng.uniform(0.17, 0.24)
    else:
        lo, hi = (0.68, 0.8) if kind == 'nodule' else (0.47, 0.56)
        img += alpha * np.maximum(rng.uniform(lo, hi) - img, 0.0)
    return alpha


def _effusion(img, xs, ys, lung, mask, finding, rng):
    """Draw a dependent (posterior) pleural effusion crescent in place.

    Args and Returns as :func:`_lung_lesion`.
    """
    t = rng.uniform(*_EFFUSION[finding['size']])
    u, v = lung.local(xs, ys)
    outside_shifted = np.sqrt(u * u + (v + t)**2)
    alpha = _soft(-outside_shifted + 2.0, lung.ay) * mask  # r' > 1
    img += alpha * np.maximum(rng.uniform(0.36, 0.42) - img, 0.0)
    return alpha


def _node(img, xs, ys, lung, heart, finding, rng):
    """Draw an enlarged hilar lymph node beside the heart, in place.

    Args and Returns as :func:`_lung_lesion`, with ``heart`` (the heart's
    soft mask) in place of the lung mask.
    """
    radius = rng.uniform(*_RADII['lymphadenopathy'][finding['size']])
    radius *= xs.shape[0]
    v = rng.uniform(-0.3, 0.05)
    for u in np.linspace(-1.1, -0.2, 10):  # walk laterally out of the heart
        x, y = lung.to_image(float(u), v)
        row = min(max(int(y), 0), xs.shape[0] - 1)
        col = min(max(int(x), 0), xs.shape[0] - 1)
        if heart[row, col] < 0.2:
            break
    x, y = lung.to_image(float(u) + 0.6 * radius / lung.ax, v)  # bulge out
    alpha = _ellipse(xs, ys, x, y, radius, radius * rng.uniform(0.8, 1.0),
                     rng.uniform(0, math.pi)) * (1.0 - heart)
    img += alpha * np.maximum(rng.uniform(0.52, 0.58) - img, 0.0)
    return alpha


def draw_findings(img: np.ndarray, anat: Anatomy,
                  masks: Dict[str, np.ndarray], findings: Sequence[dict],
                  rng: np.random.Generator) -> List[List[List[float]]]:
    """Draw findings in place and return each finding's boxes.

    Args:
        img (np.ndarray): Float image from :func:`draw_anatomy` (modified).
        anat (Anatomy): The slice's anatomy.
        masks (dict): Soft masks from :func:`draw_anatomy`.
        findings (Sequence[dict]): Findings with ``type``, ``side``,
            ``location`` and ``size`` (see ``findings.py``).
        rng (np.random.Generator): The slice's finding-geometry stream.

    Returns:
        list: For each finding, a list of ``[x1, y1, x2, y2]`` boxes (two for
        a bilateral finding, one per lung).
    """
    xs, ys = _grid(anat.size)
    all_boxes = []
    for finding in findings:
        sides = (['right', 'left'] if finding['side'] == 'bilateral' else
                 [finding['side']])
        boxes = []
        for side in sides:
            lung = anat.lungs[side]
            if finding['type'] == 'pleural effusion':
                alpha = _effusion(img, xs, ys, lung, masks[side], finding, rng)
            elif finding['type'] == 'lymphadenopathy':
                alpha = _node(img, xs, ys, lung, masks['heart'], finding, rng)
            else:
                alpha = _lung_lesion(img, xs, ys, lung, masks[side], finding,
                                     rng)
            box = _box(alpha)
            if box is not None:
                boxes.append(box)
        all_boxes.append(boxes)
    return all_boxes


def render_slice(anat: Anatomy, findings: Sequence[dict],
                 geometry_rng: np.random.Generator,
                 noise_rng: np.random.Generator
                 ) -> Tuple[np.ndarray, List[List[List[float]]]]:
    """Draw anatomy and findings and finish the slice.

    Args:
        anat (Anatomy): Parameters from :func:`sample_anatomy`.
        findings (Sequence[dict]): Findings to draw (may be empty).
        geometry_rng (np.random.Generator): Stream for finding geometry.
        noise_rng (np.random.Generator): Stream for the acquisition noise.

    Returns:
        tuple: The ``(size, size)`` uint8 image and the boxes per finding.
    """
    img, masks = draw_anatomy(anat)
    boxes = draw_findings(img, anat, masks, findings, geometry_rng)
    return finish_slice(img, anat, noise_rng), boxes
