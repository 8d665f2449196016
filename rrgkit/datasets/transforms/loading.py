# Copyright (c) rrgkit contributors. All rights reserved.
"""Load medical images by content (PNG, JPEG, 16-bit, DICOM, ...)."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, UnidentifiedImageError

from rrgkit.registry import TRANSFORMS
from ..errors import ImageDecodeError, MissingImageError

__all__ = ['LoadReportImage', 'read_image']

_GRAY_HIGH_DEPTH = ('I;16', 'I;16L', 'I;16B', 'I;16N', 'I', 'F')
_PIL_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError,
               Image.DecompressionBombError)


def _decode_error(path: str, reason: str) -> ImageDecodeError:
    return ImageDecodeError(
        f'Cannot decode image {path!r}: {reason}. The file may be corrupt, '
        'truncated or not an image; check it (e.g. open it in a viewer) and '
        're-export or remove it from the annotation.')


def _to_uint8(arr: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``[low, high]`` linearly to ``[0, 255]``, clipping outside."""
    arr = arr.astype(np.float64)
    if high <= low:
        return np.zeros(arr.shape, dtype=np.uint8)
    out = (arr - low) * (255.0 / (high - low))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _high_depth_to_uint8(arr: np.ndarray, mode: str,
                         depth_scaling: str) -> np.ndarray:
    if depth_scaling == 'minmax':
        return _to_uint8(arr, float(arr.min()), float(arr.max()))
    # 'fixed': integer data is taken as 16-bit (0..65535, i.e. divide by
    # 257), float data as 0..1.
    return _to_uint8(arr, 0.0, 1.0 if mode == 'F' else 65535.0)


def _composite_on_black(img: Image.Image) -> np.ndarray:
    """Drop alpha by compositing on black (transparent = background)."""
    gray = img.mode in ('LA', 'La')
    arr = np.asarray(img.convert('LA' if gray else 'RGBA'), dtype=np.float64)
    out = arr[..., :-1] * (arr[..., -1:] / 255.0)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out[..., 0] if gray else out


def _read_pil(path: str, depth_scaling: str) -> np.ndarray:
    """Decode with PIL (format sniffed from the header, not the suffix)."""
    try:
        with Image.open(path) as img:
            img.load()  # decode now so truncation raises here
            mode = img.mode
            if mode in _GRAY_HIGH_DEPTH:
                arr = np.asarray(img)
                if mode.startswith('I;16'):
                    arr = arr.astype(np.uint16)
                return _high_depth_to_uint8(arr, mode, depth_scaling)
            if mode in ('L', 'RGB'):
                return np.asarray(img).copy()
            if mode == 'P':
                img = img.convert('RGBA')
            if img.mode in ('RGBA', 'LA', 'La', 'RGBa', 'PA'):
                return _composite_on_black(img)
            return np.asarray(img.convert('RGB')).copy()  # 1, CMYK, YCbCr..
    except _PIL_ERRORS as e:
        raise _decode_error(path, f'{type(e).__name__}: {e}') from None


def _read_dicom(path: str, window: Optional[Tuple[float,
                                                  float]]) -> np.ndarray:
    """Read a single-frame DICOM slice into uint8 with a window."""
    try:
        import pydicom
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array.astype(np.float64)
    except ImportError:
        raise ImageDecodeError(
            f'{path!r} is a DICOM file; install pydicom to read it.') from None
    except Exception as e:  # pydicom raises many types on bad files
        raise _decode_error(path, f'DICOM: {type(e).__name__}: {e}') from None
    samples = int(getattr(ds, 'SamplesPerPixel', 1))
    if arr.ndim != 2 + (samples > 1):
        raise _decode_error(
            path, f'multi-frame DICOM (pixel array {arr.shape}) is not '
            'supported; export single slices')
    arr = arr * float(getattr(ds, 'RescaleSlope', 1) or 1) + float(
        getattr(ds, 'RescaleIntercept', 0) or 0)
    if window is None:
        low, high = float(arr.min()), float(arr.max())
    else:
        center, width = window
        low, high = center - width / 2.0, center + width / 2.0
    out = _to_uint8(arr, low, high)
    if getattr(ds, 'PhotometricInterpretation', '') == 'MONOCHROME1':
        out = 255 - out
    return out


def _is_dicom(path: str) -> bool:
    with open(path, 'rb') as f:
        head = f.read(132)
    return len(head) == 132 and head[128:132] == b'DICM'


def read_image(
        path: str,
        color_type: str = 'color',
        depth_scaling: str = 'minmax',
        dicom_window: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Read one image file into a uint8 array.

    Args:
        path (str): The image file.
        color_type (str): 'color' gives ``HxWx3`` RGB, 'grayscale' ``HxW``.
            Defaults to 'color'.
        depth_scaling (str): How 16-bit / 32-bit / float images become
            uint8: 'minmax' stretches the image's own min..max to 0..255;
            'fixed' divides integers by 257 (0..65535 -> 0..255) and maps
            floats 0..1 to 0..255. Defaults to 'minmax'.
        dicom_window (tuple[float, float], optional): ``(center, width)``
            of the display window for DICOM, in rescaled units (e.g. HU);
            None uses the slice's min..max. Defaults to None.

    Returns:
        np.ndarray: The uint8 image.
    """
    if not osp.isfile(path):
        raise MissingImageError(
            f'Image file not found: {path!r}. Check `data_root` / '
            '`data_prefix`, or remove the record from the annotation.')
    try:
        dicom = _is_dicom(path)
    except OSError as e:
        raise _decode_error(path, f'cannot read the file ({e})') from None
    arr = _read_dicom(path, dicom_window) if dicom else _read_pil(
        path, depth_scaling)
    if color_type == 'grayscale':
        if arr.ndim == 3:
            arr = np.asarray(Image.fromarray(arr, 'RGB').convert('L'))
    elif arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr)


@TRANSFORMS.register_module()
class LoadReportImage(BaseTransform):
    """Load the image(s) of a record, whatever their real format.

    The format is read from the file's content, never its suffix (some
    COV-CTR ``.png`` files are JPEG). DICOM files (``DICM`` at byte 128) are
    read with pydicom: rescale slope/intercept, then a window to uint8.

    Required keys: ``img_path`` (str, or a list of str for several views).

    Added keys: ``img`` (uint8 ``HxWx3`` RGB, ``HxW`` for grayscale, or a
    list of those per view), ``ori_shape`` and ``img_shape`` (``(h, w)``, or
    lists per view).

    Moved key: ``gt_boxes``, if present, becomes ``gt_bboxes`` (float32
    ``(N, 4)``), the key mmcv's ``Resize``, ``RandomResize``, ``Pad``,
    ``CenterCrop`` and ``RandomFlip`` (and rrgkit's ``RandomAffineView``)
    update with the image. ``PackReportInputs`` packs it as ``gt_boxes``.
    Transforms that ignore ``gt_bboxes`` (e.g. mmpretrain's
    ``RandomResizedCrop``) leave boxes out of step: avoid them with boxes.

    Args:
        color_type (str): 'color' or 'grayscale'. Defaults to 'color'.
        to_float32 (bool): Convert the image to float32 (values stay
            0..255). Defaults to False.
        depth_scaling (str): 'minmax' or 'fixed', how high bit-depth images
            are brought to 0..255 (see :func:`read_image`).
            Defaults to 'minmax'.
        dicom_window (Sequence[float], optional): DICOM ``(center, width)``;
            None means min..max. Defaults to None.
    """

    def __init__(self,
                 color_type: str = 'color',
                 to_float32: bool = False,
                 depth_scaling: str = 'minmax',
                 dicom_window: Optional[Sequence[float]] = None) -> None:
        if color_type not in ('color', 'grayscale'):
            raise ValueError("color_type must be 'color' or 'grayscale', "
                             f'got {color_type!r}.')
        if depth_scaling not in ('minmax', 'fixed'):
            raise ValueError("depth_scaling must be 'minmax' or 'fixed', "
                             f'got {depth_scaling!r}.')
        if dicom_window is not None and len(dicom_window) != 2:
            raise ValueError('dicom_window must be (center, width), got '
                             f'{dicom_window!r}.')
        self.color_type = color_type
        self.to_float32 = to_float32
        self.depth_scaling = depth_scaling
        self.dicom_window = None if dicom_window is None else tuple(
            float(v) for v in dicom_window)

    def _load(self, path: str) -> np.ndarray:
        img = read_image(path, self.color_type, self.depth_scaling,
                         self.dicom_window)
        return img.astype(np.float32) if self.to_float32 else img

    def transform(self, results: dict) -> dict:
        """Load ``results['img_path']`` into ``results['img']``."""
        paths: Union[str, List[str]] = results['img_path']
        if isinstance(paths, (list, tuple)):
            imgs = [self._load(p) for p in paths]
            results['img'] = imgs
            results['ori_shape'] = [img.shape[:2] for img in imgs]
        else:
            results['img'] = self._load(paths)
            results['ori_shape'] = results['img'].shape[:2]
        results['img_shape'] = list(results['ori_shape']) if isinstance(
            paths, (list, tuple)) else results['ori_shape']
        if results.get('gt_boxes') is not None:
            # mmcv's geometric transforms keep ``gt_bboxes`` in step with
            # the image; PackReportInputs packs it back as ``gt_boxes``.
            results['gt_bboxes'] = np.asarray(results.pop('gt_boxes'),
                                              dtype=np.float32).reshape(-1, 4)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(color_type={self.color_type!r}, '
                f'to_float32={self.to_float32}, '
                f'depth_scaling={self.depth_scaling!r}, '
                f'dicom_window={self.dicom_window})')
