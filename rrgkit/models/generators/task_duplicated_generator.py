# Copyright (c) rrgkit contributors. All rights reserved.
"""Task duplication (MDNet, Zhang et al., CVPR 2017).

A report is written as ``K`` descriptions (one per finding type, the
conclusion last). A batch of ``B`` images becomes ``K * B`` language-model
sequences that share the image features: each sequence starts with the
image vector and a task token saying which description to write. The
features are repeated, not recomputed, so the gradients of the ``K``
sequences merge on the image model.
"""
from typing import List, Optional, Sequence

import torch

from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from rrgkit.structures import ReportDataSample
from .report_generator import ReportGenerator

__all__ = ['TaskDuplicatedGenerator', 'repeat_visual']


def repeat_visual(visual: VisualFeatures, times: int) -> VisualFeatures:
    """Repeat every study ``times`` times (rows of one study adjacent)."""
    batch = visual.batch_size

    def rep(value):
        if isinstance(value, torch.Tensor) and value.dim() and \
                value.shape[0] == batch:
            return value.repeat_interleave(times, 0)
        return value

    return visual.replace(
        global_feat=rep(visual.global_feat),
        tokens=rep(visual.tokens),
        feat_map=rep(visual.feat_map),
        extras={k: rep(v) for k, v in visual.extras.items()})


@MODELS.register_module()
class TaskDuplicatedGenerator(ReportGenerator):
    """A report generator that writes one description per task.

    Takes every argument of :class:`ReportGenerator`, plus:

    Args:
        description_names (Sequence[str]): The ``K`` findings descriptions
            (the dataset's ``description_names``), in order.
        with_conclusion (bool): Add the conclusion as a last task.
            Defaults to True.
        report_conclusion (bool): Whether ``pred_report`` (the text scored
            against the references) ends with the generated conclusion. Use
            False when the references have no conclusion (COV-CTR, whose
            conclusion is a template built from the label). Defaults to
            False.

    The decoder must accept ``task_ids`` (e.g. ``AttentionLSTMDecoder``);
    its ``num_tasks`` is filled in. Data samples need ``gt_descriptions``
    (and ``gt_conclusion`` with ``with_conclusion``). Predictions get
    ``pred_descriptions``, ``pred_conclusion``, ``pred_report`` (the
    non-empty descriptions joined) and, with an AAS proposer,
    ``pred_label``.
    """

    def __init__(self,
                 description_names: Sequence[str],
                 with_conclusion: bool = True,
                 report_conclusion: bool = False,
                 **kwargs) -> None:
        names = list(description_names)
        if not names:
            raise ValueError('TaskDuplicatedGenerator: description_names is '
                             'empty; give the dataset\'s description names.')
        self.description_names = names
        self.with_conclusion = with_conclusion
        self.report_conclusion = report_conclusion
        num_tasks = len(names) + int(with_conclusion)
        decoder = kwargs.get('decoder')
        if isinstance(decoder, dict):
            decoder = dict(decoder)
            if decoder.setdefault('num_tasks', num_tasks) != num_tasks:
                raise ValueError(
                    f'model.decoder.num_tasks={decoder["num_tasks"]} but '
                    f'there are {num_tasks} tasks ({len(names)} descriptions'
                    + (' + conclusion' if with_conclusion else '') + '); '
                    'leave num_tasks out of the decoder config.')
            kwargs['decoder'] = decoder
        super().__init__(**kwargs)
        self.num_tasks = num_tasks

    def _task_texts(self, data_samples: List[ReportDataSample]) -> List[str]:
        texts = []
        k = len(self.description_names)
        for i, sample in enumerate(data_samples):
            where = sample.get('img_path', f'sample {i}')
            descs = sample.get('gt_descriptions')
            if descs is None:
                raise ValueError(
                    f'{where} has no gt_descriptions: TaskDuplicatedGenerator '
                    'needs a dataset that splits reports into descriptions '
                    "(e.g. ReportDataset(report_splitter=dict(preset="
                    "'covctr_en'))).")
            if len(descs) != k:
                raise ValueError(
                    f'{where} has {len(descs)} descriptions but the model '
                    f'expects {k} ({self.description_names}).')
            texts.extend(str(d) for d in descs)
            if self.with_conclusion:
                conclusion = sample.get('gt_conclusion')
                if conclusion is None:
                    raise ValueError(f'{where} has no gt_conclusion; set '
                                     'with_conclusion=False or give one.')
                texts.append(str(conclusion))
        return texts

    def _task_ids(self, batch: int, device) -> torch.Tensor:
        return torch.arange(self.num_tasks, device=device).repeat(batch)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReportDataSample]) -> dict:
        """Word loss over all ``K * B`` sequences plus auxiliary losses."""
        visual, losses = self.extract_feat(inputs, data_samples)
        texts = self._task_texts(data_samples)
        ids, _ = self.tokenizer.batch_encode(texts, max_len=self.max_len)
        ids = ids.to(inputs.device)
        repeated = repeat_visual(visual, self.num_tasks)
        task_ids = self._task_ids(visual.batch_size, inputs.device)
        logits = self.decoder(repeated, ids[:, :-1], task_ids)
        losses['loss_report'] = self.loss_module(logits, ids[:, 1:])
        losses.update(self.decoder_aux_losses())
        return losses

    @torch.no_grad()
    def generate_tasks(self, visual: VisualFeatures) -> List[List[str]]:
        """Generated text of every task, ``[B][num_tasks]``."""
        repeated = repeat_visual(visual, self.num_tasks)
        task_ids = self._task_ids(visual.batch_size,
                                  visual.global_feat.device)
        texts = self.tokenizer.batch_decode(
            self.generate(repeated, task_ids=task_ids).tolist())
        n = self.num_tasks
        return [texts[i * n:(i + 1) * n] for i in range(visual.batch_size)]

    def score_descriptions(self, visual: VisualFeatures,
                           descriptions: Sequence[str]) -> torch.Tensor:
        """Log-likelihood of one query's findings descriptions per image.

        ``sum_k log p(description_k | image, task k)`` over the ``K``
        findings tasks (the conclusion task is not scored: retrieval
        queries have their conclusion removed).

        Args:
            visual (VisualFeatures): Features of ``I`` images.
            descriptions (Sequence[str]): The query's ``K`` descriptions.

        Returns:
            Tensor: ``(I,)`` scores, higher = more likely.
        """
        k = len(self.description_names)
        if len(descriptions) != k:
            raise ValueError(f'{len(descriptions)} query descriptions but the '
                             f'model writes {k} ({self.description_names})')
        images = visual.batch_size
        repeated = repeat_visual(visual, k)
        task_ids = torch.arange(k, device=visual.global_feat.device).repeat(
            images)
        scores = self.sequence_log_likelihood(
            repeated, [str(d) for d in descriptions] * images,
            task_ids=task_ids)
        return scores.view(images, k).sum(1)

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[ReportDataSample]] = None
    ) -> List[ReportDataSample]:
        """Generate every description and assemble the report."""
        visual, _ = self.extract_feat(inputs, data_samples)
        per_image = self.generate_tasks(visual)
        pred_label = visual.extras.get('pred_label')
        if data_samples is None:
            data_samples = [ReportDataSample() for _ in per_image]
        k = len(self.description_names)
        for i, (sample, texts) in enumerate(zip(data_samples, per_image)):
            descs = texts[:k]
            conclusion = texts[k] if self.with_conclusion else ''
            parts = [d for d in descs if d.strip()]
            if self.report_conclusion and conclusion.strip():
                parts.append(conclusion)
            sample.set_pred_report(self.tokenizer.join_texts(parts))
            sample.pred_descriptions = list(descs)
            sample.pred_conclusion = conclusion
            if pred_label is not None:
                sample.pred_label = pred_label[i].detach()
            refs = sample.references
            if refs:
                sample.gt_reports = [
                    self.tokenizer.detokenize_reference(r) for r in refs
                ]
        return data_samples
