# Copyright (c) rrgkit contributors. All rights reserved.
"""Benchmarks: configs x seeds, recorded, aggregated and compared.

A benchmark spec is a python config holding ``benchmark = dict(...)``::

    benchmark = dict(
        name='covctr_en_cpu',
        seeds=[0, 1, 2],
        split='test',
        reference='nic',                       # significance tests against it
        cfg_options=['train_cfg.max_epochs=5'],  # optional, every run
        results_dir='docs/results/benchmarks/covctr_en_cpu',
        work_root='work_dirs/benchmarks/covctr_en_cpu',
        methods=[
            dict(name='sanity', kind='sanity', config='configs/nic_covctr.py'),
            dict(name='nic', config='configs/nic_covctr.py'),
            dict(name='asgk', config='configs/asgk_covctr.py',
                 test_config='configs/asgk/asgk_stage3_...py', stage='full'),
            dict(name='mdnet', config='configs/mdnet_covctr.py',
                 retrieval=dict(conclusion='covctr_en')),
        ])

A spec may list ``prepare`` steps, run once, in order, before any method
(e.g. the one frozen visual backbone that every method's cached features
come from, probed on the way)::

    prepare=[
        dict(name='backbone',
             output='work_dirs/benchmarks/x/densenet121_seed0.pth',
             command=['tools/analysis/probe_features.py', 'configs/...py',
                      '--save-backbone', '{output}']),
    ]

``command`` is a script under the repository (run with this Python) and
its arguments, ``{output}`` replaced by ``output``; a step whose output
exists is skipped, like a finished run.

A method with ``init_from='<earlier method>'`` (e.g. SCST after the
cross-entropy run) starts each seed from that method's checkpoint of the
same seed chosen on val (``load_from``); run such a spec with ``--jobs 1``
so that the starting run has finished. A method with
``checkpoint_from='<earlier method>'`` trains nothing: it tests that
method's checkpoints (chosen on val) with its own ``cfg_options``, e.g.
other decoding settings (``model.decode_cfg.no_repeat_ngram_size=3``).

Every (method, seed) run trains in its own work dir with
``randomness.seed=<seed>`` (then the spec's ``cfg_options``, the method's
``cfg_options`` and the command line's, later ones winning), is tested on ``split`` with the checkpoint chosen
on val, and leaves ``<results_dir>/<method>/seed<seed>.json`` (a result
record) and ``..._reports.json`` (generated reports). A run whose record
exists is skipped, so a stopped benchmark continues where it was. The
``sanity`` kind records the most-frequent and nearest-neighbour baselines
once (they have no seed). A method with ``retrieval=dict(conclusion=...)``
(MDNet-style models) also runs ``tools/analysis/retrieval.py`` on the chosen
checkpoint before the test, into ``seed<seed>_retrieval.json``, whose
``retrieval/Cr@k`` scores join the method's metrics.

Each method is compared with the reference by two paired randomization
tests over the evaluated images (per-image scores averaged over seeds):
CIDEr-D, and the clinical efficacy F1 of the abnormal tags (``CE/abnormal/
F1``, :mod:`rrgkit.evaluation.functional.clinical`) when the methods'
configs score CE (their ``ClinicalTagMetric`` gives the tag vocabulary).
Both are computed from the generated reports the runs leave.
"""
import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from .results import RecordError, load_record, repo_root

__all__ = ['BenchmarkRun', 'load_benchmark', 'plan_prepare', 'plan_runs',
           'distinct_n',
           'paired_randomization_test', 'aggregate_benchmark']

SANITY = ('most_frequent', 'nearest_neighbour')


@dataclass
class BenchmarkRun:
    """One method at one seed (or one sanity baseline)."""
    method: str
    seed: Optional[int]
    record: str
    reports: str
    commands: List[List[str]] = field(default_factory=list)
    extra_records: List[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Whether the run's record exists."""
        return osp.isfile(self.record)


def load_benchmark(path: str) -> dict:
    """Read and check a benchmark spec file.

    Raises:
        RecordError: Missing keys, unknown reference, duplicate names.
    """
    spec = Config.fromfile(path).get('benchmark')
    if spec is None:
        raise RecordError(f'{path} has no `benchmark = dict(...)`.')
    spec = spec.to_dict() if hasattr(spec, 'to_dict') else dict(spec)
    missing = [k for k in ('name', 'seeds', 'methods', 'results_dir')
               if k not in spec]
    if missing:
        raise RecordError(f'{path}: benchmark has no {missing}.')
    names = [m['name'] for m in spec['methods']]
    if len(set(names)) != len(names):
        raise RecordError(f'{path}: method names repeat: {names}')
    for i, method in enumerate(spec['methods']):
        for key in ('init_from', 'checkpoint_from'):
            start = method.get(key)
            if start is not None and start not in names[:i]:
                raise RecordError(
                    f"{path}: method {method['name']!r} has {key}="
                    f'{start!r}, which is not a method listed before it.')
    ref = spec.get('reference')
    if ref is not None and ref not in names + list(SANITY):
        raise RecordError(f'{path}: reference {ref!r} is not a method '
                          f'({names}).')
    for step in spec.get('prepare', []):
        lacking = [k for k in ('name', 'output', 'command') if k not in step]
        if lacking:
            raise RecordError(f'{path}: prepare step {step} has no '
                              f'{lacking}.')
    spec.setdefault('split', 'test')
    spec.setdefault('work_root', osp.join('work_dirs', 'benchmarks',
                                          spec['name']))
    return spec


def _tool(name: str) -> str:
    return osp.join(repo_root(), 'tools', name)


def plan_prepare(spec: dict) -> List[BenchmarkRun]:
    """The spec's ``prepare`` steps as runs (done when the output exists)."""
    steps = []
    for step in spec.get('prepare', []):
        output = step['output']
        script, *args = [str(a).replace('{output}', output)
                         for a in step['command']]
        path = script if osp.isabs(script) else osp.join(repo_root(), script)
        steps.append(BenchmarkRun(f"prepare:{step['name']}", None, output,
                                  '', [[sys.executable, path, *args]]))
    return steps


def plan_runs(spec: dict, extra_options: Sequence[str] = ()
              ) -> List[BenchmarkRun]:
    """Every run of a benchmark with its commands, in order."""
    out = spec['results_dir']
    split = spec['split']
    spec_options = list(spec.get('cfg_options', []))
    runs = []
    for method in spec['methods']:
        name, config = method['name'], method['config']
        if method.get('kind') == 'sanity':
            cmd = [sys.executable, _tool('analysis/sanity_baselines.py'),
                   config, '--split', split, '--record-dir',
                   osp.join(out, name)]
            if spec_options or extra_options:
                cmd += ['--cfg-options', *spec_options, *extra_options]
            for base in SANITY:
                runs.append(BenchmarkRun(
                    base, None, osp.join(out, name, f'{base}.json'),
                    osp.join(out, name, f'{base}_reports.json'), [cmd]))
            continue
        for seed in spec['seeds']:
            work = osp.join(spec['work_root'], name, f'seed{seed}')
            record = osp.join(out, name, f'seed{seed}.json')
            reports = osp.join(out, name, f'seed{seed}_reports.json')
            options = [f'randomness.seed={seed}', *spec_options,
                       *method.get('cfg_options', []), *extra_options]
            # A test config other than the trained one may need other keys
            # (e.g. SCST's model.generator.* -> the plain generator's).
            test_options = options if 'test_cfg_options' not in method else [
                f'randomness.seed={seed}', *spec_options,
                *method['test_cfg_options'], *extra_options]
            train_options = list(options)
            if method.get('init_from'):
                # e.g. SCST from the CE run of the same seed (best on val)
                start = osp.join(spec['work_root'], method['init_from'],
                                 f'seed{seed}')
                train_options.append(f'load_from=@best:{start}')
            train = [sys.executable, _tool('train.py'), config,
                     '--work-dir', work, '--cfg-options', *train_options]
            stage_dir = osp.join(work, method['stage']) if method.get(
                'stage') else work
            reuse = method.get('checkpoint_from')
            if reuse:  # no training: another method's checkpoint, retested
                stage_dir = osp.join(spec['work_root'], reuse, f'seed{seed}')
            test = [sys.executable, _tool('test.py'),
                    method.get('test_config') or config,
                    f'@best:{stage_dir}', '--split', split,
                    '--work-dir', osp.join(work if reuse else stage_dir,
                                           'test'),
                    '--out', reports, '--record', record,
                    '--cfg-options', *test_options]
            commands, extra = ([] if reuse else [train]), []
            retrieval = method.get('retrieval')
            if retrieval is not None:
                extra.append(osp.join(out, name, f'seed{seed}_retrieval.json'))
                commands.append([
                    sys.executable, _tool('analysis/retrieval.py'),
                    method.get('test_config') or config,
                    f'@best:{stage_dir}', '--split', split,
                    '--conclusion', retrieval.get('conclusion', 'covctr_en'),
                    '--work-dir', osp.join(stage_dir, 'retrieval'),
                    '--record', extra[0], '--cfg-options', *options])
            grid = method.get('decode_grid')
            if grid:  # decoding chosen on val, then the one test
                choice = osp.join(work, 'decoding', 'decoding.json')
                commands.append([
                    sys.executable, _tool('analysis/choose_decoding.py'),
                    method.get('test_config') or config,
                    f'@best:{stage_dir}',
                    *[a for g in grid for a in ('--grid', g)],
                    '--work-dir', osp.join(work, 'decoding'), '--out',
                    choice, '--cfg-options', *test_options])
                test.append(f'@options:{choice}')
            commands.append(test)  # last: its record marks the run done
            runs.append(BenchmarkRun(name, seed, record, reports, commands,
                                     extra))
    return runs


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of whitespace tokens (0 if none)."""
    grams, total = set(), 0
    for text in texts:
        words = text.split()
        for i in range(len(words) - n + 1):
            grams.add(tuple(words[i:i + n]))
            total += 1
    return len(grams) / total if total else 0.0


def paired_randomization_test(a: Sequence[float], b: Sequence[float],
                              num_samples: int = 10000,
                              seed: int = 0) -> Dict[str, float]:
    """Two-sided sign-flip test of ``mean(a - b) != 0`` over paired items.

    Returns:
        dict: ``diff`` (mean of a - b) and ``p`` (with the +1 correction).
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError('paired_randomization_test needs two equally long '
                         'non-empty score lists')
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(num_samples, d.size))
    extreme = (np.abs((signs * d).mean(1)) >= observed - 1e-12).sum()
    return dict(diff=float(d.mean()),
                p=float((extreme + 1) / (num_samples + 1)))


def _read_reports(path: str) -> List[dict]:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _item_scores(reports: List[dict], eval_tokenizer: str,
                 metric: str) -> Dict[str, float]:
    from rrgkit.evaluation.functional import compute_nlg_scores_per_item
    preds = {r['id']: r['generated'] for r in reports}
    refs = {r['id']: (r['reference'] if isinstance(r['reference'], list)
                      else [r['reference']]) for r in reports}
    family = {'CIDEr-D': 'CIDEr', 'ROUGE-L': 'ROUGE_L'}.get(
        metric, metric.split('-')[0])
    return compute_nlg_scores_per_item(preds, refs,
                                       eval_tokenizer=eval_tokenizer,
                                       metrics=[family])[metric]


def _clinical_metric(records: List[dict]):
    """The ``ClinicalTagMetric`` of the first config that scores CE.

    Returns None when no record's config has one or its tag vocabulary
    cannot be found (then the CE test is left out).
    """
    from mmengine.logging import print_log

    from rrgkit.datasets.errors import DatasetError
    from rrgkit.registry import METRICS
    for config in dict.fromkeys(r['config'] for r in records):
        path = config if osp.isabs(config) else osp.join(repo_root(), config)
        if not osp.isfile(path):
            continue
        cfg = Config.fromfile(path)
        metrics = cfg.get('test_evaluator') or cfg.get('val_evaluator') or []
        for metric in metrics if isinstance(metrics, list) else [metrics]:
            if 'ClinicalTagMetric' in str(metric.get('type')):
                try:
                    return METRICS.build(dict(metric))
                except DatasetError as err:
                    print_log(f'No CE test: {err}', logger='current')
                    return None
    return None


def _ce_item_scores(reports: List[dict], metric,
                    key: str) -> Dict[str, float]:
    from rrgkit.evaluation.functional import compute_ce_scores_per_item
    return compute_ce_scores_per_item(
        {r['id']: r['generated'] for r in reports},
        {r['id']: r['reference'] for r in reports}, metric.vocab,
        negation_window=metric.negation_window)[key]


def _test_against(reference: Optional[str], name: str, metric: str,
                  per_item: Dict[str, Dict[str, float]]) -> Optional[dict]:
    """Paired randomization test of ``name`` against ``reference``."""
    if reference not in per_item or name == reference or \
            name not in per_item:
        return None
    ids = sorted(per_item[reference])
    return dict(metric=metric, reference=reference,
                **paired_randomization_test(
                    [per_item[name][i] for i in ids],
                    [per_item[reference][i] for i in ids]))


def _merged_record(run: BenchmarkRun) -> dict:
    """A run's record with the metrics of its extra records added."""
    record = load_record(run.record)
    for path in run.extra_records:
        extra = load_record(path)
        clash = set(extra['metrics']) & set(record['metrics'])
        if clash:
            raise RecordError(f'{path} repeats metrics of {run.record}: '
                              f'{sorted(clash)}')
        record['metrics'].update(extra['metrics'])
    return record


def aggregate_benchmark(spec: dict, runs: List[BenchmarkRun],
                        test_metric: str = 'CIDEr-D',
                        ce_test_metric: Optional[str] = 'abnormal/F1'
                        ) -> dict:
    """Mean ± std over seeds, degeneracy and significance per method.

    Args:
        spec (dict): The benchmark spec.
        runs (list[BenchmarkRun]): Its runs (finished ones are used).
        test_metric (str): Per-image score of the significance test.
        ce_test_metric (str, optional): Per-image CE score of the second
            test (a key of :data:`~rrgkit.evaluation.functional.
            CE_ITEM_KEYS`); None leaves it out. Defaults to 'abnormal/F1'.

    Returns:
        dict: ``methods``: name -> ``mean``/``std`` per metric, ``seeds``,
        ``distinct_1``, ``distinct_2``, ``distinct_reports`` (the number
        of different reports each seed generated),
        ``most_frequent_share``, ``test``
        (diff and p against the reference) and ``ce_test`` (the same for
        per-image CE, when the configs score CE); plus the benchmark's
        name, split and signature.
    """
    by_method: Dict[str, List[BenchmarkRun]] = {}
    for run in runs:
        if run.done:
            by_method.setdefault(run.method, []).append(run)
    frequent = None
    if 'most_frequent' in by_method:
        texts = {r['generated'] for r in _read_reports(
            by_method['most_frequent'][0].reports)}
        frequent = next(iter(texts)) if len(texts) == 1 else None
    signature, per_item, per_item_ce, methods = None, {}, {}, {}
    ce_metric = None
    if ce_test_metric is not None:
        ce_metric = _clinical_metric([load_record(r.record) for rs in
                                      by_method.values() for r in rs])
    for name, method_runs in by_method.items():
        records = [_merged_record(r) for r in method_runs]
        sig = records[0]['signature']
        key = (records[0]['split'], sig.get('eval_tokenizer'),
               sig.get('num_images'), sig.get('data_hash'))
        if signature is None:
            signature = key
        elif key[:3] != signature[:3] or (
                key[3] and signature[3] and key[3] != signature[3]):
            raise RecordError(
                f'{name} was scored differently ({key}) from the other '
                f'methods ({signature}); rerun it on the same split.')
        metrics = sorted(set.intersection(*(set(r['metrics'])
                                            for r in records)))
        entry = dict(seeds=[r.seed for r in method_runs], mean={}, std={})
        for m in metrics:
            values = np.array([r['metrics'][m] for r in records])
            entry['mean'][m] = float(values.mean())
            entry['std'][m] = float(values.std(ddof=1)) if len(
                values) > 1 else 0.0
        texts = [r['generated'] for run in method_runs
                 for r in _read_reports(run.reports)]
        entry['distinct_reports'] = [
            len({r['generated'] for r in _read_reports(run.reports)})
            for run in method_runs]
        entry['distinct_1'] = distinct_n(texts, 1)
        entry['distinct_2'] = distinct_n(texts, 2)
        entry['most_frequent_share'] = (
            None if frequent is None else
            sum(t == frequent for t in texts) / max(1, len(texts)))
        reports = [_read_reports(run.reports) for run in method_runs]
        per_item[name] = _seed_mean([
            _item_scores(r, sig.get('eval_tokenizer', 'ptb'), test_metric)
            for r in reports])
        if ce_metric is not None:
            per_item_ce[name] = _seed_mean([
                _ce_item_scores(r, ce_metric, ce_test_metric)
                for r in reports])
        methods[name] = entry
    ref = spec.get('reference')
    for name, entry in methods.items():
        for key, metric, scores in (
                ('test', test_metric, per_item),
                ('ce_test', f'CE/{ce_test_metric}', per_item_ce)):
            test = _test_against(ref, name, metric, scores)
            if test is not None:
                entry[key] = test
    return dict(name=spec['name'], split=spec['split'],
                reference=ref, methods=methods,
                signature=None if signature is None else dict(
                    split=signature[0], eval_tokenizer=signature[1],
                    num_images=signature[2], data_hash=signature[3]))


def _seed_mean(seeds_scores: List[Dict[str, float]]) -> Dict[str, float]:
    """Per-item mean over seeds (the items of the first seed)."""
    return {i: float(np.mean([s[i] for s in seeds_scores]))
            for i in sorted(seeds_scores[0])}


def run_environment(threads: int) -> Dict[str, str]:
    """Environment of a run that gets ``threads`` CPU threads."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env
