# Copyright (c) rrgkit contributors. All rights reserved.
"""Procedural chest-CT look-alike axial slices: the anatomy (numpy only).

Image convention (radiological, as on a CT viewer): the patient's **right**
lung is drawn on the **image left**, the patient's left lung on the image
right; anterior (sternum) is at the top and posterior (spine) at the bottom.
Findings say ``side='right'`` for the patient's right lung, i.e. the image
left. Findings are drawn by :mod:`.lesions`, which also holds
:func:`~.lesions.render_slice` (anatomy + findings + finish).

Intensities are floats in [0, 1] until :func:`finish_slice` maps them to
8-bit gray levels.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

__all__ = [
    'Lung', 'Anatomy', 'sample_anatomy', 'draw_anatomy', 'finish_slice',
    'gaussian_blur', 'smooth_noise', 'body_mask'
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


def finish_slice(img: np.ndarray, anat: Anatomy,
                 rng: np.random.Generator) -> np.ndarray:
    """Apply contrast, blur and noise, and quantise to uint8.

    Args:
        img (np.ndarray): Float image (anatomy plus any findings).
        anat (Anatomy): The slice's anatomy (gain, offset, blur, noise).
        rng (np.random.Generator): The slice's acquisition-noise stream.

    Returns:
        np.ndarray: The ``(size, size)`` uint8 image.
    """
    out = img * anat.gain + anat.offset
    out = gaussian_blur(out.astype(np.float32), anat.blur_sigma)
    out = out + rng.normal(0.0, anat.noise_sigma, out.shape).astype(np.float32)
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)
