# Copyright (c) rrgkit contributors. All rights reserved.
import pytest

from rrgkit.apis.benchmark import (_merged_record, distinct_n, load_benchmark,
                                   paired_randomization_test, plan_prepare,
                                   plan_runs)
from rrgkit.apis.results import RecordError, make_record, write_record


def test_distinct_n_by_hand():
    texts = ['a b a b', 'a b c']
    assert distinct_n(texts, 1) == pytest.approx(3 / 7)
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)  # ab ba bc
    assert distinct_n([''], 2) == 0.0


def test_randomization_test_extremes():
    same = paired_randomization_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same == dict(diff=0.0, p=1.0)
    better = paired_randomization_test([1.0] * 10, [0.0] * 10,
                                       num_samples=4000)
    assert better['diff'] == 1.0
    # Only the all-plus and all-minus sign patterns are as extreme: 2/1024.
    assert better['p'] == pytest.approx(2 / 1024, abs=0.003)
    with pytest.raises(ValueError, match='equally long'):
        paired_randomization_test([], [])


def _spec(tmp_path, text):
    path = tmp_path / 'bench.py'
    path.write_text(text)
    return str(path)


def test_spec_checks_and_planned_runs(tmp_path):
    path = _spec(tmp_path, (
        "benchmark = dict(name='b', seeds=[0, 1], results_dir='res',\n"
        "    reference='nic', cfg_options=['e=5', 'y=2'], methods=[\n"
        "    dict(name='sanity', kind='sanity', config='c.py'),\n"
        "    dict(name='nic', config='c.py', cfg_options=['y=3']),\n"
        "    dict(name='asgk', config='p.py', test_config='s3.py',"
        " stage='full')])\n"))
    spec = load_benchmark(path)
    runs = plan_runs(spec, ['x=1'])
    assert [(r.method, r.seed) for r in runs] == [
        ('most_frequent', None), ('nearest_neighbour', None), ('nic', 0),
        ('nic', 1), ('asgk', 0), ('asgk', 1)]
    asgk = runs[-1]
    train, test = asgk.commands
    assert train[2] == 'p.py' and 'randomness.seed=1' in train
    assert train[-3:] == ['e=5', 'y=2', 'x=1']
    # spec, then method, then command-line options: later ones win
    nic_train = runs[2].commands[0]
    assert nic_train[nic_train.index('--cfg-options') + 1:] == [
        'randomness.seed=0', 'e=5', 'y=2', 'y=3', 'x=1']
    assert runs[0].commands[0][-3:] == ['e=5', 'y=2', 'x=1']
    assert test[2] == 's3.py'
    assert test[3].startswith('@best:') and test[3].endswith(
        'asgk/seed1/full')
    assert asgk.record.endswith('res/asgk/seed1.json') and not asgk.done
    bad = _spec(tmp_path, "benchmark = dict(name='b', seeds=[0], "
                "results_dir='r', reference='x', methods=[dict(name='a', "
                "config='c.py')])\n")
    with pytest.raises(RecordError, match="reference 'x'"):
        load_benchmark(bad)


def test_prepare_steps_and_init_from(tmp_path):
    path = _spec(tmp_path, (
        "benchmark = dict(name='b', seeds=[3], results_dir='res',\n"
        "    work_root='w', prepare=[dict(name='bb', output='w/bb.pth',\n"
        "        command=['tools/x.py', 'c.py', '--out', '{output}'])],\n"
        "    methods=[dict(name='ce', config='c.py'),\n"
        "             dict(name='ce+scst', config='s.py', init_from='ce',\n"
        "                  cfg_options=['g.k=1'], test_cfg_options=['k=1']),\n"
        "             dict(name='ce+b3', config='c.py', checkpoint_from='ce',"
        " cfg_options=['b=3']),\n"
        "             dict(name='ce+dec', config='c.py', checkpoint_from='ce',"
        " decode_grid=['n=0,3'])])\n"))
    spec = load_benchmark(path)
    (step,) = plan_prepare(spec)
    assert step.method == 'prepare:bb' and step.record == 'w/bb.pth'
    assert step.commands[0][1].endswith('tools/x.py')
    assert step.commands[0][2:] == ['c.py', '--out', 'w/bb.pth']
    assert not step.done
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'bb.pth').write_bytes(b'x')
    step.record = str(tmp_path / 'w' / 'bb.pth')
    assert step.done
    scst_train, scst_test = plan_runs(spec)[1].commands
    assert scst_train[-2:] == ['g.k=1', 'load_from=@best:w/ce/seed3']
    assert scst_test[-2:] == ['randomness.seed=3', 'k=1']
    assert 'load_from' not in ' '.join(plan_runs(spec)[0].commands[0])
    (retest,) = plan_runs(spec)[2].commands  # no training
    assert retest[1].endswith('test.py') and retest[3] == '@best:w/ce/seed3'
    assert retest[-1] == 'b=3' and 'w/ce+b3/seed3/test' in retest
    choose, test = plan_runs(spec)[3].commands  # decoding chosen on val
    assert choose[1].endswith('choose_decoding.py')
    assert choose[3] == '@best:w/ce/seed3'
    assert choose[4:6] == ['--grid', 'n=0,3']
    assert choose[choose.index('--out') + 1] == 'w/ce+dec/seed3/decoding/' \
        'decoding.json'
    assert test[-1] == '@options:w/ce+dec/seed3/decoding/decoding.json'
    for bad, match in (
            ("methods=[dict(name='a', config='c.py', init_from='z')]",
             "has init_from='z'"),
            ("methods=[dict(name='a', config='c.py')], prepare=[dict("
             "name='p', output='o')]", r"has no \['command'\]")):
        with pytest.raises(RecordError, match=match):
            load_benchmark(_spec(tmp_path, "benchmark = dict(name='b', "
                                 f"seeds=[0], results_dir='r', {bad})\n"))


def test_retrieval_runs_before_the_test_and_joins_the_metrics(tmp_path):
    path = _spec(tmp_path, (
        f"benchmark = dict(name='b', seeds=[3], results_dir='{tmp_path}',\n"
        "    methods=[dict(name='mdnet', config='m.py',\n"
        "                  retrieval=dict(conclusion='covctr_zh'))])\n"))
    run, = plan_runs(load_benchmark(path))
    train, retrieval, test = run.commands
    assert retrieval[1].endswith('analysis/retrieval.py')
    assert retrieval[retrieval.index('--conclusion') + 1] == 'covctr_zh'
    assert run.extra_records == [retrieval[retrieval.index('--record') + 1]]
    assert run.extra_records[0].endswith('mdnet/seed3_retrieval.json')
    assert test[1].endswith('test.py')  # its record marks the run done

    def record(metrics, where):
        write_record(make_record(dict(config='m.py', checkpoint=None,
                                      split='test', metrics=metrics), []),
                     where)

    record({'report/CIDEr-D': 0.5}, run.record)
    record({'retrieval/Cr@1': 0.75}, run.extra_records[0])
    assert _merged_record(run)['metrics'] == {'report/CIDEr-D': 0.5,
                                              'retrieval/Cr@1': 0.75}
    record({'report/CIDEr-D': 0.1}, run.extra_records[0])
    with pytest.raises(RecordError, match='repeats metrics'):
        _merged_record(run)


def test_aggregate_tests_per_image_ce_against_the_reference(tmp_path):
    """The CE test uses the tag vocabulary of the configs' ClinicalTagMetric
    and the per-image abnormal F1 of the generated reports."""
    from rrgkit.apis.benchmark import BenchmarkRun, aggregate_benchmark
    from rrgkit.datasets.tags import DEFAULT_LEXICON, TagVocabulary
    from rrgkit.utils.fileio import atomic_write_json
    tags = ['ground-glass opacity', 'nodule', 'thorax symmetrical']
    vocab = TagVocabulary('english', tags[:2], tags[2:], dict.fromkeys(
        tags, 1), lexicon_sha256=DEFAULT_LEXICON.fingerprint())
    vocab.save(tmp_path / 'tags.json')
    config = tmp_path / 'ce_config.py'
    config.write_text(
        'from rrgkit.evaluation import ClinicalTagMetric, ReportMetric\n'
        "test_evaluator = [dict(type=ReportMetric), dict(\n"
        f"    type=ClinicalTagMetric, tags_file={str(tmp_path)!r} + "
        "'/tags.json')]\n")
    refs = {'a': 'ground glass shadow .', 'b': 'a nodule .',
            'c': 'the thorax was symmetrical .'}
    outputs = {
        # abnormal F1 per image: a 0, b 0, c 1 (nothing abnormal, agreed)
        'ref': dict.fromkeys(refs, 'the thorax was symmetrical .'),
        # a 1, b 0 (ground glass for a nodule), c 1
        'good': dict(refs, b='ground glass shadow .'),
    }
    runs = []
    for name, generated in outputs.items():
        run = BenchmarkRun(name, 0, str(tmp_path / f'{name}.json'),
                           str(tmp_path / f'{name}_reports.json'))
        write_record(make_record(dict(
            config=str(config), checkpoint=None, split='test',
            metrics={'report/CIDEr-D': 0.5}, signature=dict(
                eval_tokenizer='whitespace', num_images=3)), []), run.record)
        atomic_write_json([dict(id=i, generated=generated[i], reference=r)
                           for i, r in refs.items()], run.reports)
        runs.append(run)
    spec = dict(name='b', split='test', reference='ref')
    summary = aggregate_benchmark(spec, runs)
    good = summary['methods']['good']
    assert good['ce_test'] == dict(metric='CE/abnormal/F1', reference='ref',
                                   diff=pytest.approx(1 / 3), p=1.0)
    assert good['test']['metric'] == 'CIDEr-D'
    assert 'ce_test' not in summary['methods']['ref']
    # Without a CE test (or a config that scores CE): no ce_test entry.
    summary = aggregate_benchmark(spec, runs, ce_test_metric=None)
    assert 'ce_test' not in summary['methods']['good']
