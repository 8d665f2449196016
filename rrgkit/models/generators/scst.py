# Copyright (c) rrgkit contributors. All rights reserved.
"""Self-critical sequence training (SCST, Rennie et al., CVPR 2017).

:class:`SCSTGenerator` fine-tunes a trained report generator on a
sequence-level reward (CIDEr-D by default) instead of the word-level
cross-entropy. For each image it samples ``K`` reports, with the gradient of
their words' log-probabilities, and scores them against the references; the
loss of a sample is

    ``-(r - b) * sum_t log p(w_t) / length``

(``<eos>`` included in the words, in the length and in the reward), where
the baseline ``b`` is the reward of the greedy report (``'greedy'``, the
"self-critical" baseline) or the mean reward of the image's other ``K - 1``
samples (``'mean'``, Luo 2020, "A better variant of self-critical sequence
training"). Reports better than the baseline become more likely, worse ones
less.

It works with any generator whose decoder has ``init_state``/``step`` (see
:mod:`rrgkit.models.utils.decoding`). The wrapper is transparent in
checkpoints: its state dict has the wrapped generator's keys, so the
cross-entropy checkpoint loads into it (``load_from``) and its checkpoints
load into the plain generator (``tools/test.py`` with either config).
"""
from contextlib import contextmanager
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from rrgkit.evaluation.rewards import RewardConfigError, RewardMix
from rrgkit.models.utils.decoding import greedy_decode, index_state
from rrgkit.models.utils.sampling import sample_decode
from rrgkit.registry import DATASETS, MODELS
from rrgkit.structures import ReportDataSample

__all__ = ['SCSTConfigError', 'SCSTGenerator', 'corpus_references']

BASELINES = ('greedy', 'mean')
_PREFIX = 'generator.'
_ALIAS = 'data_preprocessor.'  # the generator's own, registered twice


class SCSTConfigError(ValueError):
    """An SCST model config that cannot work (raised when it is built)."""


def corpus_references(corpus: Any) -> List[List[str]]:
    """The references of every sample of a corpus.

    Args:
        corpus: A dataset config, a dataset (``get_data_info``, as
            :class:`~rrgkit.datasets.ReportDataset`) or a list whose items
            are a reference or a list of references.

    Returns:
        list[list[str]]: One list of references per sample: its
        ``gt_reports`` (or ``references``) when the dataset gives several,
        else ``[report]``, as ``PackReportInputs`` packs them.
    """
    if isinstance(corpus, Mapping):
        corpus = DATASETS.build(dict(corpus))
    if isinstance(corpus, (list, tuple)):
        return [[r] if isinstance(r, str) else list(r) for r in corpus]
    if hasattr(corpus, 'full_init'):
        corpus.full_init()
    refs = []
    for i in range(len(corpus)):
        info = corpus.get_data_info(i)
        several = info.get('gt_reports') or info.get('references')
        refs.append(list(several) if several else [info['report']])
    return refs


@contextmanager
def _eval_mode(module: nn.Module):
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


@MODELS.register_module()
class SCSTGenerator(BaseModel):
    """Self-critical sequence training of a report generator.

    Training (``mode='loss'``) is SCST; validation, test and prediction are
    the wrapped generator's own (its decoding settings, e.g. beam search).

    Args:
        generator (dict | nn.Module): The report generator to fine-tune,
            e.g. the ``model`` of its cross-entropy config. Its decoder must
            have ``init_state``/``step``.
        reward_cfg (dict): Named reward terms, summed with their ``weight``
            (see :class:`~rrgkit.evaluation.rewards.RewardMix`). Defaults to
            CIDEr-D alone (``dict(cider=dict(type='CIDErDReward'))``).
        corpus (dict | list, optional): The training references, for rewards
            that need them (CIDEr-D's document frequencies): usually
            ``train_dataloader['dataset']`` (see :func:`corpus_references`).
            Required when such a reward is used. Defaults to None.
        num_samples (int): Reports sampled per image (``K``). Defaults to 5.
        baseline (str): ``'greedy'`` (the reward of the greedy report) or
            ``'mean'`` (the mean reward of the other samples of the image;
            needs ``num_samples >= 2``). Defaults to ``'greedy'``.
        max_len (int, optional): Most words sampled per report, ``<eos>``
            included. Defaults to None (the generator's ``max_len - 1``, as
            its decoding).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 generator: Union[dict, nn.Module],
                 reward_cfg: Optional[Mapping[str, Any]] = None,
                 corpus: Optional[Union[dict, Sequence]] = None,
                 num_samples: int = 5,
                 baseline: str = 'greedy',
                 max_len: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        # The cheap checks first: building the generator reads its corpus.
        if baseline not in BASELINES:
            raise SCSTConfigError(f'model.baseline={baseline!r}; choose one '
                                  f'of {", ".join(map(repr, BASELINES))}.')
        if num_samples < (2 if baseline == 'mean' else 1):
            raise SCSTConfigError(
                f'model.num_samples={num_samples} is too small for '
                f"baseline={baseline!r}; it needs at least "
                f"{2 if baseline == 'mean' else 1} samples per image.")
        reward = RewardMix(reward_cfg or dict(cider=dict(type='CIDErDReward')))
        needy = reward.needs_references
        if needy and corpus is None:
            raise RewardConfigError(
                f'reward_cfg.{needy[0]} needs the training references, but '
                'model.corpus is not set; set '
                "corpus=train_dataloader['dataset'] in the SCST model config.")
        if not isinstance(generator, nn.Module):
            generator = MODELS.build(generator)
        decoder = getattr(generator, 'decoder', None)
        if not (hasattr(decoder, 'init_state') and hasattr(decoder, 'step')
                and hasattr(generator, 'tokenizer')):
            raise SCSTConfigError(
                f'model.generator ({type(generator).__name__}) cannot be '
                'trained with SCST: it needs a tokenizer and a decoder with '
                'init_state/step (e.g. a ReportGenerator).')
        if getattr(decoder, 'num_tasks', 0):
            raise SCSTConfigError(
                f'model.generator ({type(generator).__name__}) writes one '
                'description per task; SCST samples whole reports and '
                'supports generators whose decoder needs only the image.')
        super().__init__(
            data_preprocessor=generator.data_preprocessor, init_cfg=init_cfg)
        self.generator = generator
        self.num_samples, self.baseline = num_samples, baseline
        self.max_len = max_len or generator.max_len - 1
        self.reward = reward
        if needy:
            normalise = self.tokenizer.detokenize_reference
            self.reward.fit([[normalise(r) for r in refs]
                             for refs in corpus_references(corpus)])
        # Checkpoints hold the generator's own keys (see the module doc).
        self._register_state_dict_hook(_strip_generator_prefix)
        self._register_load_state_dict_pre_hook(_add_generator_prefix)

    @property
    def tokenizer(self):
        """The wrapped generator's tokenizer."""
        return self.generator.tokenizer

    @property
    def vocab(self) -> nn.Module:
        """The wrapped generator's vocabulary state (checkpoint checks)."""
        return self.generator.vocab

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReportDataSample]] = None,
                mode: str = 'tensor'):
        """SCST loss for ``'loss'``; the generator's forward otherwise."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.generator(inputs, data_samples, mode=mode)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReportDataSample]) -> Dict[str, torch.Tensor]:
        """The SCST loss of a batch, with the rewards for the log.

        Returns:
            dict: ``loss_scst``; ``reward`` (mean over the samples),
            ``reward_baseline`` and, with several terms, ``reward_<name>``.
        """
        gen, decoder = self.generator, self.generator.decoder
        tokenizer = gen.tokenizer
        visual, _ = gen.extract_feat(inputs, data_samples)
        batch, k = visual.batch_size, self.num_samples
        device = visual.global_feat.device  # inputs may be cached features
        refs = [[tokenizer.detokenize_reference(r) for r in s.references]
                for s in data_samples]
        empty = [i for i, r in enumerate(refs) if not r]
        if empty:
            raise ValueError(f'SCST: sample(s) {empty} of the batch have no '
                             'reference report to compute the reward.')
        rows = torch.arange(batch, device=device).repeat_interleave(k)
        decode_args = dict(bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
                           max_len=self.max_len, device=device)
        sampled = sample_decode(
            init_state=lambda: index_state(decoder.init_state(visual), rows),
            step=decoder.step, batch_size=batch * k, **decode_args)
        texts = tokenizer.batch_decode(sampled.ids.tolist())
        reward, terms = self.reward(texts, [refs[i] for i in rows.tolist()])
        reward = torch.as_tensor(reward, dtype=torch.float32, device=device)
        if self.baseline == 'greedy':
            with torch.no_grad(), _eval_mode(decoder):
                greedy = greedy_decode(
                    init_state=lambda: decoder.init_state(visual),
                    step=decoder.step, batch_size=batch, **decode_args)
            base, _ = self.reward(tokenizer.batch_decode(greedy.tolist()),
                                  refs)
            base = torch.as_tensor(base, dtype=torch.float32,
                                   device=device).repeat_interleave(k)
        else:
            per_image = reward.view(batch, k)
            base = ((per_image.sum(1, keepdim=True) - per_image) /
                    (k - 1)).view(-1)
        advantage = reward - base
        seq_log_prob = sampled.log_probs.sum(1) / sampled.lengths
        losses = dict(
            loss_scst=-(advantage * seq_log_prob).mean(),
            reward=reward.mean(),
            reward_baseline=base.mean())
        if len(terms) > 1:
            for name, values in terms.items():
                losses[f'reward_{name}'] = torch.as_tensor(
                    float(values.mean()), device=device)
        return losses


def _strip_generator_prefix(module: nn.Module, state: Dict[str, Any],
                            prefix: str, local_metadata: dict) -> None:
    """State dict hook: the generator's keys without ``generator.``.

    Edits ``state`` in place (a nested module's returned dict would be
    ignored), its ``_metadata`` (module versions) included.
    """
    for key in [k for k in state if k.startswith(prefix + _ALIAS)]:
        del state[key]  # the same module as generator.data_preprocessor
    for key in [k for k in state if k.startswith(prefix + _PREFIX)]:
        state[prefix + key[len(prefix + _PREFIX):]] = state.pop(key)
    meta = getattr(state, '_metadata', None)
    if meta is not None:
        for key in [k for k in meta if k.startswith(prefix + _ALIAS[:-1])]:
            del meta[key]
        own = prefix + _PREFIX[:-1]
        for key in [k for k in meta if k == own or k.startswith(own + '.')]:
            meta[(prefix + key[len(own) + 1:]).rstrip('.')] = meta.pop(key)


def _add_generator_prefix(state: Dict[str, Any], prefix: str, *args) -> None:
    """Load pre-hook: route a generator's keys to ``generator.``."""
    for key in [k for k in state if k.startswith(prefix)]:
        rest = key[len(prefix):]
        if rest.startswith(_PREFIX):
            continue  # already a wrapper key
        value = state.pop(key)
        state[prefix + _PREFIX + rest] = value
        if rest.startswith(_ALIAS):
            state[key] = value
    meta = getattr(state, '_metadata', None)
    if meta is not None:
        own = prefix + _PREFIX[:-1]
        for key in [k for k in meta if k == prefix[:-1]
                    or k.startswith(prefix) and not k.startswith(own)]:
            rest = key[len(prefix):] if key.startswith(prefix) else ''
            meta.setdefault(f'{own}.{rest}' if rest else own, meta[key])
