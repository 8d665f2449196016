# Copyright (c) rrgkit contributors. All rights reserved.
"""The report generator: backbone -> region proposer -> encoder -> decoder."""
import inspect
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from rrgkit.models.backbones.cached_features import (CachedFeatures,
                                                     check_image_inputs)
from rrgkit.models.tokenizers import ReportTokenizer, build_tokenizer
from rrgkit.models.utils.decoding import (decode, resolve_decode_cfg,
                                         sampling_generator)
from rrgkit.models.utils.visual_features import (VisualFeatures,
                                                 pool_feature_map)
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample

__all__ = ['ReportGenerator']

ModuleCfg = Union[dict, nn.Module]


def _build(cfg: Optional[ModuleCfg]) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


def _tag_probs(visual: VisualFeatures) -> Optional[torch.Tensor]:
    """Tag probabilities of the last component that predicts tags."""
    if 'tag_probs' in visual.extras:
        return visual.extras['tag_probs'].detach()
    if 'tag_logits' in visual.extras:
        return visual.extras['tag_logits'].detach().sigmoid()
    return None


class _VocabularyState(nn.Module):
    """Keeps the tokenizer's vocabulary in the model's ``state_dict``.

    The vocabulary is saved as extra state, so it is inside every
    checkpoint; loading a state dict whose vocabulary differs from the
    model's raises ``VocabularyMismatchError`` instead of producing garbage.
    """

    def __init__(self, tokenizer: ReportTokenizer) -> None:
        super().__init__()
        self.tokenizer = tokenizer

    def get_extra_state(self) -> dict:
        return self.tokenizer.state_dict()

    def set_extra_state(self, state: dict) -> None:
        self.tokenizer.check_compatible(state, source='the loaded state dict')


@MODELS.register_module()
class ReportGenerator(BaseModel):
    """Generates a report from one or several images.

    Components are config dicts (built from the registry) or modules:

    * ``backbone``: image -> tuple of feature maps (the last one is used);
      or ``CachedFeatures`` to read features the dataset cached
      (``feature_cache``, see docs/feature_cache.md);
    * ``region_proposer`` (optional): ``(inputs, visual, data_samples) ->
      (visual, losses)``, e.g. crops around a CAM and fuses region features;
    * ``encoder`` (optional): ``(visual, data_samples) -> (visual, losses)``,
      e.g. a medical tag graph;
    * ``decoder``: ``forward(visual, input_ids) -> logits`` for training,
      ``init_state``/``step`` for decoding (see
      :mod:`rrgkit.models.utils.decoding`).

    Args:
        backbone (dict | nn.Module): The image encoder.
        decoder (dict | nn.Module): The language decoder. ``vocab_size``,
            ``pad_id`` and ``in_channels`` are filled in when omitted.
        tokenizer (dict | ReportTokenizer): Tokenizer config; its vocabulary
            comes from ``vocab`` or is built from ``corpus`` (the training
            split).
        region_proposer (dict | nn.Module, optional): Defaults to None.
        encoder (dict | nn.Module, optional): Defaults to None.
        loss (dict | nn.Module): Word loss. Defaults to ``ReportNLLLoss``.
        max_len (int): Maximum report length in tokens, ``<bos>``/``<eos>``
            included, for training and generation. Defaults to 100.
        beam_size (int): 1 for greedy decoding. Defaults to 1.
        length_penalty (float): Beam-search length normalisation exponent.
            Defaults to 0.
        decode_cfg (dict, optional): Decoding options
            (``no_repeat_ngram_size``, ``min_length``, ``do_sample``,
            ``temperature``, ``top_k``, ``top_p``, ``seed``, and
            ``beam_size``/``length_penalty``, which then replace the
            arguments above), see ``docs/decoding.md``.
            Defaults to None (greedy or beam search as above).
        data_preprocessor (dict, optional): Defaults to
            ``ReportDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: ModuleCfg,
                 decoder: ModuleCfg,
                 tokenizer: Union[dict, ReportTokenizer],
                 region_proposer: Optional[ModuleCfg] = None,
                 encoder: Optional[ModuleCfg] = None,
                 loss: ModuleCfg = dict(type='ReportNLLLoss'),
                 max_len: int = 100,
                 beam_size: int = 1,
                 length_penalty: float = 0.0,
                 decode_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReportDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor)
            data_preprocessor.setdefault('type', 'ReportDataPreprocessor')
            # Built here so that rrgkit names resolve whatever the scope.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = build_tokenizer(tokenizer)
        self.vocab = _VocabularyState(self.tokenizer)
        self.backbone = _build(backbone)
        if (isinstance(self.backbone, CachedFeatures)
                and region_proposer is not None):
            raise ValueError(
                'model.region_proposer needs images, but model.backbone is '
                'CachedFeatures; cache the proposer with the backbone (the '
                "dataset's feature_cache.region_proposer) and set "
                'model.region_proposer=None.')
        self.region_proposer = self._build_sized(region_proposer)
        self.encoder = self._build_sized(encoder)
        self.decoder = self._build_decoder(decoder)
        if isinstance(loss, dict):
            loss = dict(loss)
            loss.setdefault('ignore_index', self.tokenizer.pad_id)
        self.loss_module = _build(loss)
        self.max_len = max_len
        opts = resolve_decode_cfg(
            decode_cfg, beam_size=beam_size, length_penalty=length_penalty)
        self.beam_size = opts.pop('beam_size')
        self.length_penalty = opts.pop('length_penalty')
        self.decode_cfg = opts  # the other options of ``decode``
        self._sampling_rng: Optional[torch.Generator] = None

    # ------------------------------------------------------------------ build
    def _build_sized(self, cfg: Optional[ModuleCfg]):
        """Build a proposer or encoder, sizing ``in_channels`` from what
        precedes it, and ``vocab_size``/``pad_id`` (an encoder that embeds
        words, e.g. ``RetrievalEncoder``) from the tokenizer, when the
        config leaves them out."""
        if not isinstance(cfg, dict):
            return cfg
        cfg = dict(cfg)
        params = self._init_params(cfg['type'])
        if 'in_channels' in params and cfg.get('in_channels') is None:
            cfg['in_channels'] = self._visual_channels()
        if 'vocab_size' in params:
            vocab_size = len(self.tokenizer)
            if cfg.get('vocab_size') is None:
                cfg['vocab_size'] = vocab_size
            elif cfg['vocab_size'] != vocab_size:
                raise ValueError(
                    f'vocab_size={cfg["vocab_size"]} in the config of '
                    f'{getattr(cfg["type"], "__name__", cfg["type"])} but '
                    f'the tokenizer has {vocab_size} tokens; remove it so '
                    'it follows the tokenizer.')
        if 'pad_id' in params:
            cfg.setdefault('pad_id', self.tokenizer.pad_id)
        return MODELS.build(cfg)

    def _build_decoder(self, decoder: ModuleCfg) -> nn.Module:
        if isinstance(decoder, nn.Module):
            return decoder
        decoder = dict(decoder)
        vocab_size = len(self.tokenizer)
        if decoder.setdefault('vocab_size', vocab_size) != vocab_size:
            raise ValueError(
                f'model.decoder.vocab_size={decoder["vocab_size"]} but the '
                f'tokenizer has {vocab_size} tokens; remove vocab_size from '
                'the decoder config so it follows the tokenizer.')
        params = self._init_params(decoder['type'])
        if 'pad_id' in params:
            decoder.setdefault('pad_id', self.tokenizer.pad_id)
        if 'in_channels' in params and decoder.get('in_channels') is None:
            decoder['in_channels'] = self._visual_channels()
        return MODELS.build(decoder)

    @staticmethod
    def _init_params(type_) -> List[str]:
        cls = MODELS.get(type_) if isinstance(type_, str) else type_
        if cls is None:
            return []
        return list(inspect.signature(cls.__init__).parameters)

    @torch.no_grad()
    def _visual_channels(self) -> int:
        """Feature size after the components built so far.

        The last built of encoder / region proposer that declares
        ``out_channels`` decides; otherwise one tiny backbone forward does.
        """
        for name in ('encoder', 'region_proposer'):
            module = getattr(self, name, None)
            if module is not None and hasattr(module, 'out_channels'):
                return int(module.out_channels)
        if isinstance(self.backbone, CachedFeatures):
            return self.backbone.out_channels
        was_training = self.backbone.training
        self.backbone.eval()
        feats = self.backbone(torch.zeros(1, 3, 64, 64))
        self.backbone.train(was_training)
        feat = feats[-1] if isinstance(feats, (list, tuple)) else feats
        return int(feat.shape[1])

    # ---------------------------------------------------------------- forward
    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReportDataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to ``loss``, ``predict`` or ``extract_feat``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)[0].global_feat
        raise RuntimeError(f'Invalid mode "{mode}".')

    def extract_feat(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[ReportDataSample]] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Run backbone, region proposer and encoder.

        Args:
            inputs (Tensor | dict): ``(B, C, H, W)`` or ``(B, V, C, H, W)``;
                a dict of cached features with a ``CachedFeatures``
                backbone.
            data_samples (list, optional): Ground truth for auxiliary losses.

        Returns:
            tuple: The visual features and auxiliary losses.
        """
        visual = self._backbone_features(inputs)
        losses: Dict[str, torch.Tensor] = {}
        if self.region_proposer is not None:
            visual, aux = self.region_proposer(inputs, visual, data_samples)
            losses.update(aux)
        if self.encoder is not None:
            visual, aux = self.encoder(visual, data_samples)
            losses.update(aux)
        return visual, losses

    def _backbone_features(self, inputs) -> VisualFeatures:
        if isinstance(self.backbone, CachedFeatures):
            return self.backbone(inputs)
        check_image_inputs(inputs, self.backbone)
        num_views = 1
        images = inputs
        if inputs.dim() == 5:
            num_views = inputs.shape[1]
            images = inputs.flatten(0, 1)
        feats = self.backbone(images)
        feat_map = feats[-1] if isinstance(feats, (list, tuple)) else feats
        return pool_feature_map(feat_map, num_views)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReportDataSample]) -> Dict[str, torch.Tensor]:
        """Teacher-forced word loss plus any auxiliary losses."""
        visual, losses = self.extract_feat(inputs, data_samples)
        reports = [sample.gt_report for sample in data_samples]
        ids, _ = self.tokenizer.batch_encode(reports, max_len=self.max_len)
        ids = ids.to(visual.global_feat.device)
        logits = self.decoder(visual, ids[:, :-1])
        losses['loss_report'] = self.loss_module(logits, ids[:, 1:])
        losses.update(self.decoder_aux_losses())
        return losses

    def decoder_aux_losses(self) -> Dict[str, torch.Tensor]:
        """Extra losses the decoder reports for its last forward (e.g.
        Show-Attend-and-Tell's attention regulariser), if any."""
        aux = getattr(self.decoder, 'aux_losses', None)
        return dict(aux()) if callable(aux) else {}

    def sequence_log_likelihood(self, visual: VisualFeatures,
                                texts: List[str],
                                **decoder_kwargs) -> torch.Tensor:
        """Log-likelihood of each text given its row of ``visual``.

        The sum over the text's tokens (``<eos>`` included, ``<bos>`` and
        padding excluded) of ``log p(token | image, previous tokens)``,
        teacher-forced; used to rank images for a text (retrieval).

        Args:
            visual (VisualFeatures): One row per text.
            texts (list[str]): The texts.
            **decoder_kwargs: Passed to the decoder (e.g. ``task_ids``).

        Returns:
            Tensor: ``(len(texts),)`` log-likelihoods.
        """
        if visual.batch_size != len(texts):
            raise ValueError(f'{len(texts)} texts for {visual.batch_size} '
                             'feature rows')
        ids, _ = self.tokenizer.batch_encode(texts, max_len=self.max_len)
        ids = ids.to(visual.global_feat.device)
        logits = self.decoder(visual, ids[:, :-1], **decoder_kwargs)
        targets = ids[:, 1:]
        log_probs = logits.log_softmax(-1).gather(
            -1, targets.unsqueeze(-1)).squeeze(-1)
        mask = targets != self.tokenizer.pad_id
        return (log_probs * mask).sum(1)

    @torch.no_grad()
    def generate(self, visual: VisualFeatures, **init_kwargs) -> torch.Tensor:
        """Decode token ids (greedy, sampled or beam search: ``decode_cfg``).

        Args:
            visual (VisualFeatures): Features of the batch.
            **init_kwargs: Passed to the decoder's ``init_state`` (e.g.
                ``task_ids``).

        Returns:
            Tensor: ``(B, L)`` generated ids, ``<bos>`` excluded.
        """
        kwargs = dict(
            init_state=lambda: self.decoder.init_state(visual, **init_kwargs),
            step=self.decoder.step,
            batch_size=visual.batch_size,
            bos_id=self.tokenizer.bos_id,
            eos_id=self.tokenizer.eos_id,
            max_len=self.max_len - 1,
            device=visual.global_feat.device)
        return decode(**kwargs, **self.decode_options(kwargs['device']))

    def decode_options(self, device: torch.device) -> dict:
        """Keyword arguments of :func:`~rrgkit.models.utils.decoding.decode`:
        ``beam_size``, ``length_penalty``, the ``decode_cfg`` options and,
        when ``decode_cfg`` has a ``seed``, this model's sampling generator
        (seeded once, then kept, so a test run reproduces)."""
        opts = dict(self.decode_cfg, beam_size=self.beam_size,
                    length_penalty=self.length_penalty)
        self._sampling_rng = sampling_generator(
            opts.pop('seed'), device, self._sampling_rng)
        opts['generator'] = self._sampling_rng
        return opts

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[ReportDataSample]] = None
    ) -> List[ReportDataSample]:
        """Generate reports.

        Each returned sample has ``pred_report``; when it has a reference,
        ``gt_reports`` holds the references in the tokenizer's normalised
        form, which is what the report metric scores against. Models whose
        proposer or encoder predicts tags also set ``pred_tags``; region
        proposers also set ``pred_region_box`` (input pixels).
        """
        visual, _ = self.extract_feat(inputs, data_samples)
        texts = self.tokenizer.batch_decode(self.generate(visual).tolist())
        tag_probs = _tag_probs(visual)
        boxes = visual.extras.get('region_boxes')
        if data_samples is None:
            data_samples = [ReportDataSample() for _ in texts]
        for i, (sample, text) in enumerate(zip(data_samples, texts)):
            sample.set_pred_report(text)
            if tag_probs is not None:
                sample.pred_tags = tag_probs[i]
            if boxes is not None:
                sample.pred_region_box = boxes[i].detach()
            refs = sample.references
            if refs:
                sample.gt_reports = [
                    self.tokenizer.detokenize_reference(r) for r in refs
                ]
        return data_samples
