# Copyright (c) rrgkit contributors. All rights reserved.
import io

import numpy as np
import pytest
from PIL import Image

from rrgkit.datasets import ImageDecodeError, MissingImageError
from rrgkit.datasets.transforms import LoadReportImage, read_image
from rrgkit.registry import TRANSFORMS


def _gradient(h=20, w=30):
    """An RGB image whose pixel (y, x) is (x * 8, y * 8, 100)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 8, yy * 8, np.full_like(xx, 100)],
                    axis=2).astype(np.uint8)


def _load(path, **kwargs):
    return LoadReportImage(**kwargs)(dict(img_path=str(path)))


def test_png_rgb_and_shapes(tmp_path):
    arr = _gradient()
    Image.fromarray(arr).save(tmp_path / 'x.png')
    out = TRANSFORMS.build(dict(type='LoadReportImage'))(
        dict(img_path=str(tmp_path / 'x.png')))
    assert out['img'].dtype == np.uint8
    np.testing.assert_array_equal(out['img'], arr)
    assert out['ori_shape'] == (20, 30) and out['img_shape'] == (20, 30)


def test_png_suffix_with_jpeg_content(tmp_path):
    arr = np.full((16, 24, 3), (200, 50, 10), dtype=np.uint8)
    path = tmp_path / 'really_jpeg.png'
    Image.fromarray(arr).save(path, format='JPEG', quality=95)
    assert path.read_bytes()[:3] == b'\xff\xd8\xff'
    img = _load(path)['img']
    assert img.shape == (16, 24, 3)
    assert np.abs(img.astype(int) - arr).max() <= 4  # JPEG is lossy


def test_grayscale_png_to_color_and_gray(tmp_path):
    gray = (np.arange(12 * 10).reshape(12, 10) * 2).astype(np.uint8)
    Image.fromarray(gray, 'L').save(tmp_path / 'g.png')
    color = _load(tmp_path / 'g.png')['img']
    assert color.shape == (12, 10, 3)
    np.testing.assert_array_equal(color[..., 1], gray)
    out = _load(tmp_path / 'g.png', color_type='grayscale')
    np.testing.assert_array_equal(out['img'], gray)
    assert out['img_shape'] == (12, 10)


def test_rgb_to_grayscale_uses_luma(tmp_path):
    arr = np.zeros((4, 4, 3), dtype=np.uint8)
    arr[..., 0] = 255  # pure red -> L = 0.299 * 255 = 76
    Image.fromarray(arr).save(tmp_path / 'r.png')
    img = _load(tmp_path / 'r.png', color_type='grayscale')['img']
    assert img.shape == (4, 4) and int(img[0, 0]) == 76


def test_16bit_png_minmax_and_fixed(tmp_path):
    arr = np.array([[1000, 2000], [3000, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / 'd.png')
    assert Image.open(tmp_path / 'd.png').mode.startswith('I')
    mm = _load(tmp_path / 'd.png', color_type='grayscale')['img']
    np.testing.assert_array_equal(
        mm,
        np.rint((arr - 1000.0) * 255 / (65535 - 1000)).astype(np.uint8))
    assert mm.min() == 0 and mm.max() == 255
    fixed = _load(tmp_path / 'd.png',
                  color_type='grayscale',
                  depth_scaling='fixed')['img']
    np.testing.assert_array_equal(fixed, np.rint(arr / 257.0))
    color = _load(tmp_path / 'd.png')['img']
    assert color.shape == (2, 2, 3) and color.dtype == np.uint8


def test_32bit_int_and_float_images(tmp_path):
    ints = np.array([[0, 10], [20, 40]], dtype=np.int32)
    Image.fromarray(ints, 'I').save(tmp_path / 'i.tiff')
    out = _load(tmp_path / 'i.tiff', color_type='grayscale')['img']
    np.testing.assert_array_equal(out, np.rint(ints * 255 / 40))
    floats = np.array([[0.0, 0.5], [0.25, 1.0]], dtype=np.float32)
    Image.fromarray(floats, 'F').save(tmp_path / 'f.tiff')
    out = _load(tmp_path / 'f.tiff',
                color_type='grayscale',
                depth_scaling='fixed')['img']
    np.testing.assert_array_equal(out, [[0, 128], [64, 255]])


def test_rgba_composited_on_black(tmp_path):
    arr = np.zeros((2, 2, 4), dtype=np.uint8)
    arr[..., :3] = 200
    arr[..., 3] = [[255, 0], [128, 255]]
    Image.fromarray(arr, 'RGBA').save(tmp_path / 'a.png')
    img = _load(tmp_path / 'a.png')['img']
    assert img.shape == (2, 2, 3)
    assert img[0, 0, 0] == 200 and img[0, 1, 0] == 0
    assert abs(int(img[1, 0, 0]) - 100) <= 1


def test_palette_and_la(tmp_path):
    Image.fromarray(_gradient()).convert('P').save(tmp_path / 'p.png')
    img = _load(tmp_path / 'p.png')['img']
    assert img.shape == (20, 30, 3) and img.dtype == np.uint8
    la = Image.new('LA', (3, 2), (90, 255))
    la.save(tmp_path / 'la.png')
    np.testing.assert_array_equal(_load(tmp_path / 'la.png')['img'], 90)


def test_multi_view_and_float32(tmp_path):
    Image.fromarray(_gradient(20, 30)).save(tmp_path / '0.png')
    Image.fromarray(_gradient(10, 12)).save(tmp_path / '1.png')
    out = LoadReportImage(to_float32=True)(
        dict(img_path=[str(tmp_path / '0.png'),
                       str(tmp_path / '1.png')]))
    assert isinstance(out['img'], list) and len(out['img']) == 2
    assert out['img'][0].dtype == np.float32
    assert out['ori_shape'] == [(20, 30), (10, 12)]
    assert out['img_shape'] == [(20, 30), (10, 12)]


def test_boxes_moved_to_mmcv_key(tmp_path):
    Image.fromarray(_gradient()).save(tmp_path / 'x.png')
    out = LoadReportImage()(dict(img_path=str(tmp_path / 'x.png'),
                                 gt_boxes=[[1, 2, 3, 4]]))
    assert 'gt_boxes' not in out
    np.testing.assert_array_equal(out['gt_bboxes'], [[1, 2, 3, 4]])


def test_missing_file(tmp_path):
    with pytest.raises(MissingImageError, match='nope.png'):
        _load(tmp_path / 'nope.png')


def test_garbage_bytes(tmp_path):
    (tmp_path / 'junk.png').write_bytes(b'this is not an image' * 10)
    with pytest.raises(ImageDecodeError) as err:
        _load(tmp_path / 'junk.png')
    assert 'junk.png' in str(err.value) and 'remove' in str(err.value)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3),
                                 dtype=np.uint8)).save(buf, format='JPEG')
    (tmp_path / 'cut.jpg').write_bytes(buf.getvalue()[:600])
    with pytest.raises(ImageDecodeError, match='cut.jpg'):
        _load(tmp_path / 'cut.jpg')


def test_empty_file(tmp_path):
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ImageDecodeError, match='empty.png'):
        read_image(str(tmp_path / 'empty.png'))


def _write_dicom(path, pixels, slope=1.0, intercept=-1024.0):
    pydicom = pytest.importorskip('pydicom')
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.2'  # CT
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME2'
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


def test_dicom_window(tmp_path):
    # Stored 0..2048 -> HU -1024..1024 after the rescale intercept.
    pixels = np.array([[0, 1024], [1224, 2048]], dtype=np.uint16)
    _write_dicom(tmp_path / 'slice.dcm', pixels)
    out = _load(tmp_path / 'slice.dcm', color_type='grayscale')['img']
    np.testing.assert_array_equal(out, [[0, 128], [152, 255]])  # min..max
    # Window centre 100 HU, width 200 HU: 0 HU -> 0, 200 HU -> 255.
    out = _load(tmp_path / 'slice.dcm', dicom_window=(100, 200))['img']
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[..., 0], [[0, 0], [255, 255]])


def _png16_rgb(path, arr):
    """Write a 16-bit RGB PNG by hand (PIL has no 16-bit RGB mode)."""
    import struct
    import zlib
    arr = np.asarray(arr, dtype='>u2')
    h, w = arr.shape[:2]
    raw = b''.join(b'\x00' + arr[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack(
            '>I', zlib.crc32(tag + data))

    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(
        b'IHDR', struct.pack('>IIBBBBB', w, h, 16, 2, 0, 0, 0)) +
                     chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def test_12bit_ct_in_16bit_png_uses_its_full_range(tmp_path):
    # CT slices often store 12-bit values (0..4095) in a 16-bit PNG: the
    # default min..max scaling keeps all the contrast instead of clipping.
    ct = np.array([[0, 1024], [2048, 4095]], dtype=np.uint16)
    Image.fromarray(ct).save(tmp_path / 'ct.png')
    np.testing.assert_array_equal(
        read_image(str(tmp_path / 'ct.png'), 'grayscale'),
        [[0, 64], [128, 255]])
    np.testing.assert_array_equal(  # 'fixed' keeps the 16-bit scale
        read_image(str(tmp_path / 'ct.png'), 'grayscale', 'fixed'),
        [[0, 4], [8, 16]])


def test_16bit_rgb_cmyk_and_bilevel_are_converted(tmp_path):
    _png16_rgb(tmp_path / 'rgb16.png',
               [[[0, 0, 0], [65535, 0, 0]], [[0, 32768, 0], [1000] * 3]])
    np.testing.assert_array_equal(  # high byte: divided by 256, not clipped
        read_image(str(tmp_path / 'rgb16.png')),
        [[[0, 0, 0], [255, 0, 0]], [[0, 128, 0], [3, 3, 3]]])
    Image.new('CMYK', (2, 2), (0, 255, 0, 0)).save(tmp_path / 'c.jpg')
    np.testing.assert_array_equal(read_image(str(tmp_path / 'c.jpg'))[0, 0],
                                  [255, 0, 255])
    Image.new('1', (2, 2), 1).save(tmp_path / 'b.png')
    np.testing.assert_array_equal(
        read_image(str(tmp_path / 'b.png'), 'grayscale'), 255)
