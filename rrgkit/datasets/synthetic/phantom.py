# Copyright (c) rrgkit contributors. All rights reserved.
"""Procedural chest-CT look-alike axial slices (numpy only).

Image convention (radiological, as on a CT viewer): the patient's **right**
lung is drawn on the **image left**, the patient's left lung on the image
right; anterior (sternum) is at the top and posterior (spine) at the bottom.
Findings say ``side='right'`` for the patient's right lung, i.e. the image
left. Boxes are ``[x1, y1, x2, y2]`` pixel edges of the saved image: a box
covers the pixels ``x1 <= x < x2`` and ``y1 <= y < y2``.

Intensities are floats in [0, 1] until :func:`finish_slice` maps them to
8-bit gray levels.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'Lung', 'Anatomy', 'sample_anatomy', 'draw_anatomy', 'draw_findings',
    'finish_slice', 'render_slice', 'gaussian_blur', 'body_mask'
]

# Gray levels before the per-image gain/offset.
_AIR, _LUNG, _TISSUE, _RIM, _HEART = 0.02, 0.07, 0.48, 0.6, 0.6
_AORTA, _BONE, _MARROW, _RIB = 0.66, 0.95, 0.76, 0.82


@dataclass
class Lung:
    """One lung as a (wobbly) ellipse in its own frame.

    Local coordinates: ``u`` points lateral (away from the midline) and ``v``
    posterior (down), both scaled so the lung border is at radius 1.

    Args:
        side (str): ``'right'`` (image left) or ``'left'`` (image right).
        cx, cy (float): Centre in pixels.
        ax, ay (float): Lateral and antero-posterior semi-axes in pixels.
        tilt (float): Rotation in radians; positive tilts the posterior end
            towards the midline.
        harmonics (list): ``(k, amplitude, phase)`` border wobble terms.
    """
    side: str
    cx: float
    cy: float
    ax: float
    ay: float
    tilt: float
    harmonics: List[Tuple[int, float, float]] = field(default_factory=list)

    @property
    def axes(self) -> Tuple[Tuple[float, float], Tuple[float, float]]:
        """Unit vectors ``(e_u, e_v)`` of the local frame in image space."""
        m = -1.0 if self.side == 'right' else 1.0  # lateral sign in x
        c, s = math.cos(self.tilt), math.sin(self.tilt)
        return (m * c, s), (-m * s, c)

    def local(self, x, y):
        """Image coordinates -> normalised local ``(u, v)``."""
        (ux, uy), (vx, vy) = self.axes
        dx, dy = x - self.cx, y - self.cy
        return (dx * ux + dy * uy) / self.ax, (dx * vx + dy * vy) / self.ay

    def to_image(self, u: float, v: float) -> Tuple[float, float]:
        """Normalised local ``(u, v)`` -> image coordinates."""
        (ux, uy), (vx, vy) = self.axes
        return (self.cx + u * self.ax * ux + v * self.ay * vx,
                self.cy + u * self.ax * uy + v * self.ay * vy)


@dataclass
class Anatomy:
    """Random anatomy and acquisition parameters of one slice."""
    size: int
    body: Tuple[float, float, float, float]  # cx, cy, ax, ay
    lungs: Dict[str, Lung]
    heart: Tuple[float, float, float, float, float]  # cx, cy, ax, ay, angle
    aorta: Tuple[float, float, float]
    spine: Tuple[float, float, float]
    vessels: List[Tuple[float, float, float, float]]  # x, y, radius, amp
    ribs: List[Tuple[float, float, float]]
    gain: float
    offset: float
    blur_sigma: float
    noise_sigma: float
    texture_seed: int


def _grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs + 0.5, ys + 0.5  # pixel centres


def _soft(r: np.ndarray, scale: float, edge: float = 1.0) -> np.ndarray:
    """Anti-aliased inside mask from a normalised radius (border at 1)."""
    return np.clip((1.0 - r) * scale / max(edge, 1e-3) + 0.5, 0.0, 1.0)


def _wobbly_r(u, v, harmonics) -> np.ndarray:
    """Normalised radius of local coords, with a wavy border."""
    r = np.sqrt(u * u + v * v)
    if harmonics:
        theta = np.arctan2(v, u)
        r = r / (1.0 + sum(a * np.cos(k * theta + p)
                           for k, a, p in harmonics))
    return r


def _ellipse(xs, ys, cx, cy, ax, ay, angle=0.0, harmonics=(), edge=1.0):
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = xs - cx, ys - cy
    r = _wobbly_r((c * dx + s * dy) / ax, (-s * dx + c * dy) / ay, harmonics)
    return _soft(r, min(ax, ay), edge)


def smooth_noise(rng: np.random.Generator, size: int,
                 cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a bilinearly upsampled coarse grid."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    pos = np.linspace(0, cells, size, dtype=np.float32)
    i0 = np.minimum(pos.astype(np.int64), cells - 1)
    f = pos - i0
    rows = grid[i0] * (1 - f)[:, None] + grid[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable gaussian blur with edge padding.

    Args:
        img (np.ndarray): 2-D float image.
        sigma (float): Standard deviation in pixels; <= 0 returns a copy.

    Returns:
        np.ndarray: The blurred image, same shape and dtype.
    """
    if sigma <= 0:
        return img.copy()
    radius = max(1, int(math.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-x * x / (2 * sigma * sigma))
    kernel /= kernel.sum()
    h, w = img.shape
    pad = np.pad(img, ((radius, radius), (0, 0)), mode='edge')
    out = sum(k * pad[i:i + h] for i, k in enumerate(kernel))
    pad = np.pad(out, ((0, 0), (radius, radius)), mode='edge')
    out = sum(k * pad[:, i:i + w] for i, k in enumerate(kernel))
    return out.astype(img.dtype)


def sample_anatomy(rng: np.random.Generator, size: int) -> Anatomy:
    """Draw random anatomy/acquisition parameters for one slice.

    Args:
        rng (np.random.Generator): The slice's anatomy stream.
        size (int): Image side in pixels.

    Returns:
        Anatomy: The parameters; drawing them consumes no randomness.
    """
    s = float(size)
    u = rng.uniform
    bcx, bcy = s * u(0.48, 0.52), s * u(0.49, 0.53)
    bax, bay = s * u(0.42, 0.46), s * u(0.32, 0.355)
    scale = u(0.9, 1.08)
    spread = u(0.19, 0.215)
    lungs = {}
    for side, sign in (('right', -1.0), ('left', 1.0)):
        lungs[side] = Lung(
            side=side,
            cx=bcx + sign * s * spread * u(0.95, 1.05),
            cy=bcy - s * u(0.0, 0.04),
            ax=s * 0.13 * scale * u(0.92, 1.08),
            ay=s * 0.21 * scale * u(0.93, 1.06),
            tilt=u(-0.05, 0.22),
            harmonics=[(2, u(0, 0.05), u(0, 2 * math.pi)),
                       (3, u(0, 0.035), u(0, 2 * math.pi))])
    heart = (bcx + s * u(0.02, 0.05), bcy - s * u(0.02, 0.05),
             s * u(0.11, 0.135), s * u(0.1, 0.12), u(-0.5, -0.1))
    spine = (bcx + s * u(-0.01, 0.01), bcy + bay - s * u(0.12, 0.14),
             s * u(0.045, 0.055))
    aorta = (spine[0] + s * u(0.05, 0.07), spine[1] - s * u(0.07, 0.09),
             s * u(0.03, 0.038))
    vessels = []
    for lung in lungs.values():
        for _ in range(int(rng.integers(8, 16))):
            r = 0.88 * math.sqrt(u(0.05, 1.0))
            theta = u(0, 2 * math.pi)
            uu, vv = r * math.cos(theta), r * math.sin(theta)
            if rng.random() < 0.5:  # cluster towards the hilum
                uu = -abs(uu)
            x, y = lung.to_image(uu, vv)
            vessels.append((x, y, max(0.5, s * u(0.004, 0.01)),
                            u(0.12, 0.28)))
    ribs = []
    for lung in lungs.values():
        for theta in rng.uniform(-1.3, 1.9, size=8):  # keep those in the body
            x, y = lung.to_image(1.15 * math.cos(theta),
                                 1.15 * math.sin(theta))
            if math.hypot((x - bcx) / bax, (y - bcy) / bay) < 0.88:
                ribs.append((x, y, max(1.0, s * u(0.011, 0.016))))
    return Anatomy(
        size=size, body=(bcx, bcy, bax, bay), lungs=lungs, heart=heart,
        aorta=aorta, spine=spine, vessels=vessels, ribs=ribs,
        gain=u(0.88, 1.1), offset=u(-0.03, 0.04),
        blur_sigma=max(0.4, u(0.45, 0.85) * s / 128.0),
        noise_sigma=u(0.012, 0.03),
        texture_seed=int(rng.integers(0, 2**31 - 1)))


def body_mask(anat: Anatomy) -> np.ndarray:
    """Soft mask of the body outline (1 inside, 0 in the air)."""
    xs, ys = _grid(anat.size)
    return _ellipse(xs, ys, *anat.body)


def draw_anatomy(anat: Anatomy) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """Draw the normal anatomy.

    Args:
        anat (Anatomy): Parameters from :func:`sample_anatomy`.

    Returns:
        tuple: The float image and ``{'right': mask, 'left': mask,
        'heart': mask}`` soft masks used to place findings.
    """
    xs, ys = _grid(anat.size)
    tex_rng = np.random.default_rng(anat.texture_seed)
    bcx, bcy, bax, bay = anat.body
    body = _ellipse(xs, ys, bcx, bcy, bax, bay)
    inner = _ellipse(xs, ys, bcx, bcy, bax - 0.045 * anat.size,
                     bay - 0.04 * anat.size)
    tissue = _TISSUE + 0.05 * (smooth_noise(tex_rng, anat.size, 6) - 0.5)
    img = _AIR + body * (_RIM - _AIR)
    img = img + inner * (tissue - img)

    hcx, hcy, hax, hay, hang = anat.heart
    heart = _ellipse(xs, ys, hcx, hcy, hax, hay, hang)
    acx, acy, ar = anat.aorta
    aorta = _ellipse(xs, ys, acx, acy, ar, ar)
    scx, scy, sr = anat.spine
    spine = _ellipse(xs, ys, scx, scy, sr, sr * 0.9)
    spine_process = _ellipse(xs, ys, scx, scy + 1.6 * sr, 0.3 * sr, 0.8 * sr)
    keep_out = np.maximum.reduce([heart, aorta, spine])

    parenchyma = _LUNG + 0.03 * smooth_noise(tex_rng, anat.size, 10)
    masks = {}
    for side, lung in anat.lungs.items():
        r = _wobbly_r(*lung.local(xs, ys), lung.harmonics)
        m = _soft(r, min(lung.ax, lung.ay))
        hx, hy = lung.to_image(-1.0, -0.05)  # medial hilum notch (kidney)
        notch = _ellipse(xs, ys, hx, hy, 0.3 * lung.ax, 0.3 * lung.ay)
        m = m * (1.0 - notch) * (1.0 - keep_out)
        masks[side] = m
        img = img + m * (parenchyma - img)
    masks['heart'] = heart

    img = img + heart * (_HEART - img)
    img = img + aorta * (_AORTA - img)
    img = img + np.maximum(spine, spine_process) * (_BONE - img)
    marrow = _ellipse(xs, ys, scx, scy, 0.65 * sr, 0.55 * sr)
    img = img + marrow * (_MARROW - img)
    for x, y, r in anat.ribs:
        img = img + _ellipse(xs, ys, x, y, r, r) * (_RIB - img)
    sternum = _ellipse(xs, ys, bcx, bcy - bay + 0.06 * anat.size,
                       0.035 * anat.size, 0.014 * anat.size)
    img = img + sternum * (_RIB - img)

    lungs = masks['right'] + masks['left']
    for x, y, r, amp in anat.vessels:
        img = img + amp * lungs * np.exp(-((xs - x)**2 + (ys - y)**2) /
                                         (2 * r * r))
    return img.astype(np.float32), masks


def _box(mask: np.ndarray) -> Optional[List[float]]:
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
    t = rng.uniform(*_EFFUSION[finding['size']])
    u, v = lung.local(xs, ys)
    outside_shifted = np.sqrt(u * u + (v + t)**2)
    alpha = _soft(-outside_shifted + 2.0, lung.ay) * mask  # r' > 1
    img += alpha * np.maximum(rng.uniform(0.36, 0.42) - img, 0.0)
    return alpha


def _node(img, xs, ys, lung, heart, finding, rng):
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


def finish_slice(img: np.ndarray, anat: Anatomy,
                 rng: np.random.Generator) -> np.ndarray:
    """Apply contrast, blur and noise, and quantise to uint8."""
    out = img * anat.gain + anat.offset
    out = gaussian_blur(out.astype(np.float32), anat.blur_sigma)
    out = out + rng.normal(0.0, anat.noise_sigma, out.shape).astype(np.float32)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


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
