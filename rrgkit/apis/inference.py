# Copyright (c) rrgkit contributors. All rights reserved.
"""Inference from a checkpoint alone: images in; report, tags, conclusion out.

The model comes from :func:`~rrgkit.apis.model_from_checkpoint.
init_report_model` (config, vocabulary and data-built buffers from the
checkpoint; no dataset read). :class:`ReportInferencer` loads images by
content (PNG, JPEG, 16-bit, DICOM) with the checkpoint config's test
pipeline and returns one JSON-able dict per image.
"""
import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from PIL import Image

from rrgkit.datasets.errors import DatasetError, MissingImageError
from .model_from_checkpoint import config_from_checkpoint, init_report_model

__all__ = [
    'IMAGE_SUFFIXES', 'config_from_checkpoint', 'init_report_model',
    'inference_pipeline', 'list_images', 'ReportInferencer'
]

#: Suffixes taken from a folder even when the content is not recognised (so
#: a corrupt ``.png`` is reported, not skipped). Other files are taken only
#: when their content is an image.
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.gif',
                  '.webp', '.dcm', '.dicom')


def _is_image_file(path: str) -> bool:
    if osp.splitext(path)[1].lower() in IMAGE_SUFFIXES:
        return True
    try:
        with open(path, 'rb') as f:
            head = f.read(132)
        if head[128:132] == b'DICM':
            return True
        with Image.open(path):
            return True
    except Exception:  # PIL raises many types on non-images
        return False


def list_images(images: Union[str, os.PathLike, Sequence]) -> List[Any]:
    """Expand inference inputs into a list of image paths.

    Args:
        images (str | PathLike | Sequence): An image file, a folder (its
            image files, by content or image suffix, sorted by name; hidden
            files and sub-folders left out), or a list of those. A nested
            list or tuple is kept as one multi-view study.

    Returns:
        list: Paths (or lists of paths for multi-view studies).

    Raises:
        MissingImageError: If a path does not exist or a folder holds no
            image.
    """
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    out: List[Any] = []
    for item in images:
        if isinstance(item, (list, tuple)):
            out.append([os.fspath(p) for p in item])
            continue
        path = os.fspath(item)
        if osp.isdir(path):
            names = sorted(n for n in os.listdir(path)
                           if not n.startswith('.'))
            found = [osp.join(path, n) for n in names
                     if osp.isfile(osp.join(path, n))
                     and _is_image_file(osp.join(path, n))]
            if not found:
                raise MissingImageError(
                    f'Folder {path!r} holds no image file (PNG, JPEG, DICOM, '
                    '...); give an image or a folder of images.')
            out.extend(found)
        elif osp.isfile(path):
            out.append(path)
        else:
            raise MissingImageError(f'Image file not found: {path!r}.')
    return out


def _type_name(transform: Any) -> str:
    kind = transform.get('type') if isinstance(transform, dict) else None
    return getattr(kind, '__name__', str(kind)).rsplit('.', 1)[-1]


def _find_pipeline(cfg: Config) -> list:
    """The test pipeline of the config (else val's, else ``test_pipeline``)."""
    def search(node):
        if isinstance(node, dict):
            if isinstance(node.get('pipeline'), list):
                return node['pipeline']
            return search(node.get('dataset')) or search(node.get('source'))
        return None

    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        found = search(loader.get('dataset')) if loader else None
        if found:
            return list(found)
    return list(cfg.get('test_pipeline') or [])


def inference_pipeline(cfg: Config) -> list:
    """The test pipeline with ``LoadReportImage`` first and packing last.

    Any other loader (e.g. ``LoadImageFromFile``) is replaced by
    ``LoadReportImage`` (reads by content, incl. DICOM); a missing
    ``PackReportInputs`` is appended.

    Args:
        cfg (Config): The model's config.

    Returns:
        list: Transform configs.
    """
    from rrgkit.datasets import LoadReportImage, PackReportInputs
    steps = [copy.deepcopy(dict(t)) for t in _find_pipeline(cfg)]
    steps = [t for t in steps if not _type_name(t).startswith('Load')
             or _type_name(t) == 'LoadReportImage']
    if not any(_type_name(t) == 'LoadReportImage' for t in steps):
        steps.insert(0, dict(type=LoadReportImage))
    if not _type_name(steps[-1]).startswith('Pack'):
        steps.append(dict(type=PackReportInputs))
    return steps


def _walk(node):
    """Every dict in a config tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk(value)


def _tag_names(cfg: Config, dataset_meta: dict) -> Optional[List[str]]:
    """Tag names: saved dataset metainfo, else the config's lists/files."""
    if dataset_meta.get('tag_names'):
        return [str(n) for n in dataset_meta['tag_names']]
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    for node in _walk([tree.get('model'), tree.get('test_dataloader')]):
        names = node.get('tag_names')
        if isinstance(names, (list, tuple)) and names:
            return [str(n) for n in names]
        try:  # a vocabulary file, only when it is there
            if isinstance(names, str) and osp.isfile(names):
                from rrgkit.datasets.report_dataset import load_tag_names
                return list(load_tag_names(names))
            if isinstance(node.get('tags_file'), str) and osp.isfile(
                    node['tags_file']):
                from rrgkit.datasets.tags import load_tag_file
                return list(load_tag_file(node['tags_file'])[0])
        except (DatasetError, OSError, ValueError):
            continue
    return None


def _class_names(cfg: Config, dataset_meta: dict) -> Dict[int, str]:
    """Diagnosis class names: dataset metainfo, else the DCA extractor."""
    for key in ('label_names', 'class_names', 'classes'):
        names = dataset_meta.get(key)
        if names:
            return dict(enumerate(map(str, names)))
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    for node in _walk([tree.get('test_evaluator'), tree.get('val_evaluator')]):
        if 'extractor' in node and 'DiagnosticAccuracy' in str(
                node.get('type')):
            from rrgkit.evaluation.functional.conclusion import \
                build_conclusion_extractor
            try:
                return dict(build_conclusion_extractor(
                    node['extractor']).class_names)
            except (TypeError, ValueError, KeyError):
                return {}
    return {}


def _floats(value) -> List[float]:
    return [float(v) for v in torch.as_tensor(value).reshape(-1).tolist()]


class ReportInferencer:
    """Generate reports for images with a model rebuilt from a checkpoint.

    Each image (see :func:`list_images`) goes through the checkpoint
    config's test pipeline (:func:`inference_pipeline`), images are batched,
    and ``model.test_step`` predicts. One dict per image, in input order:

    * ``image``: the path (a list for a multi-view study);
    * ``report``: the generated report;
    * ``tags``: ``[{'name', 'probability'}]`` sorted by probability (highest
      first) when the model predicts tags, else None; names from the
      training dataset (``tag_<i>`` when unknown);
    * ``conclusion``: ``{'text', 'label', 'name', 'probability'}`` for
      models with a diagnosis (MDNet: ``pred_conclusion``/``pred_label``,
      the class probability from ``class_logits``), else None;
    * ``region_box``: ``[x1, y1, x2, y2]`` of the proposed region in model
      input pixels (ASGK), else None;
    * ``descriptions``: ``{name: text}`` for task-duplicated models (MDNet),
      else None;
    * ``input_shape`` / ``ori_shape``: ``[h, w]`` of the model input and of
      the image file.

    With ``return_visual=True`` every dict also holds the raw outputs (not
    JSON; :meth:`to_json` drops them): ``data_sample`` (the
    ``ReportDataSample``), ``visual`` (the batch's ``VisualFeatures``,
    whose ``extras`` hold e.g. ``heatmap``, ``region_boxes``, ``tag_probs``,
    ``graph_attention``, ``class_map``), ``batch_index`` (this image's row
    in ``visual``) and ``input_image`` (the uint8 ``(C, H, W)`` tensor the
    model saw, before normalisation).

    Args:
        model (str | nn.Module): A checkpoint path, or a model from
            :func:`init_report_model`.
        config (str | Config, optional): The training config when the
            checkpoint holds none. Defaults to None.
        device (str | torch.device): Defaults to ``'cpu'``.
        batch_size (int): Images per forward. Defaults to 8.
        tag_names (Sequence[str], optional): Overrides the tag names.
        class_names (dict | Sequence[str], optional): Overrides the
            diagnosis class names.
    """

    #: Keys of a result that :meth:`to_json` keeps.
    JSON_KEYS = ('image', 'report', 'tags', 'conclusion', 'region_box',
                 'descriptions', 'input_shape', 'ori_shape', 'pictures')

    def __init__(self,
                 model: Union[str, os.PathLike, nn.Module],
                 config: Union[None, str, Config] = None,
                 device: Union[str, torch.device] = 'cpu',
                 batch_size: int = 8,
                 tag_names: Optional[Sequence[str]] = None,
                 class_names: Union[None, Dict[int, str],
                                    Sequence[str]] = None) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}.')
        if not isinstance(model, nn.Module):
            model = init_report_model(model, config, device)
        cfg = getattr(model, 'cfg', None)
        if cfg is None:
            raise ValueError('ReportInferencer: the model has no .cfg; build '
                             'it with init_report_model.')
        self.model = model.eval()
        self.batch_size = batch_size
        meta = getattr(model, 'dataset_meta', None) or {}
        self.tag_names = list(tag_names) if tag_names is not None \
            else _tag_names(cfg, meta)
        if class_names is not None and not isinstance(class_names, dict):
            class_names = dict(enumerate(class_names))
        self.class_names = dict(class_names) if class_names is not None \
            else _class_names(cfg, meta)
        from rrgkit.registry import TRANSFORMS
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope') or 'rrgkit'):
            self.pipeline = Compose(
                [TRANSFORMS.build(t) for t in inference_pipeline(cfg)])

    def _prepare(self, image: Union[str, List[str]]) -> dict:
        first = image[0] if isinstance(image, list) else image
        stem = osp.splitext(osp.basename(first))[0]
        packed = self.pipeline(dict(img_path=image, img_id=stem))
        if packed is None:
            raise DatasetError(f'The test pipeline dropped image {image!r}.')
        return packed

    @torch.no_grad()
    def _predict(self, items: List[dict]):
        """``test_step`` on one batch; also returns the VisualFeatures."""
        captured = {}
        extract = self.model.extract_feat

        def capture(*args, **kwargs):
            out = extract(*args, **kwargs)
            captured['visual'] = out[0]
            return out

        self.model.extract_feat = capture
        try:
            samples = self.model.test_step(pseudo_collate(items))
        finally:
            del self.model.extract_feat
        return samples, captured.get('visual')

    def _result(self, image, item: dict, sample, visual, row: int) -> dict:
        tags = None
        probs = sample.get('pred_tags')
        if probs is not None:
            probs = _floats(probs)
            names = self.tag_names
            if not names or len(names) != len(probs):
                names = [f'tag_{i}' for i in range(len(probs))]
            tags = sorted(
                (dict(name=n, probability=p) for n, p in zip(names, probs)),
                key=lambda t: -t['probability'])
        conclusion = None
        text, label = sample.get('pred_conclusion'), sample.get('pred_label')
        if text is not None or label is not None:
            label = None if label is None else int(_floats(label)[0])
            prob = None
            logits = visual.extras.get('class_logits') if visual else None
            if label is not None and logits is not None:
                prob = float(logits[row].float().softmax(-1)[label])
            conclusion = dict(
                text=text, label=label, probability=prob,
                name=None if label is None else self.class_names.get(label))
        box = sample.get('pred_region_box')
        descs = sample.get('pred_descriptions')
        if descs is not None:
            names = getattr(self.model, 'description_names', None) or []
            names = list(names) + ['conclusion'] * (len(descs) - len(names))
            descs = dict(zip(names, descs))
        meta = sample.metainfo
        return dict(
            image=image,
            report=sample.get('pred_report'),
            tags=tags,
            conclusion=conclusion,
            region_box=None if box is None else _floats(box),
            descriptions=descs,
            input_shape=[int(v) for v in item['inputs'].shape[-2:]],
            ori_shape=_shape(meta.get('ori_shape')),
            data_sample=sample,
            visual=visual,
            batch_index=row,
            input_image=item['inputs'])

    def __call__(self, images: Union[str, os.PathLike, Sequence],
                 return_visual: bool = False) -> List[dict]:
        """Generate the report of every image.

        Args:
            images (str | PathLike | Sequence): An image, a folder or a
                list (see :func:`list_images`).
            return_visual (bool): Keep the raw outputs in each result (see
                the class docstring). Defaults to False.

        Returns:
            list[dict]: One result per image, in input order.

        Raises:
            MissingImageError: A path does not exist.
            ImageDecodeError: A file cannot be decoded (names the file).
        """
        paths = list_images(images)
        results: List[dict] = []
        for start in range(0, len(paths), self.batch_size):
            chunk = paths[start:start + self.batch_size]
            items = [self._prepare(p) for p in chunk]
            # Images of one forward must share a size (keep_ratio resizes).
            while items:
                size = tuple(items[0]['inputs'].shape)
                n = next((i for i, it in enumerate(items)
                          if tuple(it['inputs'].shape) != size), len(items))
                samples, visual = self._predict(items[:n])
                results += [
                    self._result(chunk[i], items[i], s, visual, i)
                    for i, s in enumerate(samples)
                ]
                items, chunk = items[n:], chunk[n:]
        return results if return_visual else self.to_json(results)

    @torch.no_grad()
    def write_pictures(self, results: List[dict], out_dir: str,
                       **kwargs) -> List[List[str]]:
        """Write the pictures the model can show for each result.

        Heat map with the region box (CAM-threshold proposers), per-word
        attention (attention decoders), the tag graph (tag-graph encoders),
        the class map (AAS); see :func:`rrgkit.visualization.model_pictures`.
        Each result gets ``pictures`` (the PNG paths).

        Args:
            results (list[dict]): Results of ``__call__(...,
                return_visual=True)``.
            out_dir (str): Folder for the PNGs.
            **kwargs: Passed to ``model_pictures`` (thresholds, max_words).

        Returns:
            list[list[str]]: The paths, per result.
        """
        from rrgkit.visualization import model_pictures
        written = []
        for result in results:
            if 'input_image' not in result:
                raise ValueError('write_pictures needs the results of '
                                 '__call__(images, return_visual=True).')
            first = result['image']
            first = first[0] if isinstance(first, list) else first
            stem = osp.splitext(osp.basename(first))[0]
            data = self.model.data_preprocessor(
                dict(inputs=[result['input_image']],
                     data_samples=[result['data_sample']]), False)
            paths = model_pictures(
                self.model, data['inputs'], data['data_samples'], out_dir,
                tag_names=self.tag_names, image_names=[stem], **kwargs)[0]
            result['pictures'] = paths
            written.append(paths)
        return written

    @classmethod
    def to_json(cls, results: List[dict]) -> List[dict]:
        """The results without the raw (non-JSON) outputs."""
        return [{k: r.get(k) for k in cls.JSON_KEYS} for r in results]


def _shape(value) -> Optional[List]:
    if value is None:
        return None
    if isinstance(value, list) and value and isinstance(value[0], (list,
                                                                   tuple)):
        return [[int(v) for v in s] for s in value]
    return [int(v) for v in value]

