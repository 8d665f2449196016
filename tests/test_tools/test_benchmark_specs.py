# Copyright (c) rrgkit contributors. All rights reserved.
"""The benchmark specs in configs/benchmarks/ name configs that load."""
import glob
import os.path as osp

import pytest

from rrgkit.apis.benchmark import load_benchmark, plan_runs
from rrgkit.utils.setup_env import load_config
from .conftest import REPO

SPECS = sorted(glob.glob(osp.join(REPO, 'configs', 'benchmarks', '*.py')))


@pytest.mark.parametrize('spec_path', SPECS, ids=osp.basename)
def test_spec_configs_exist_and_load(spec_path):
    spec = load_benchmark(spec_path)
    assert len(spec['seeds']) >= 3
    names = set()
    for method in spec['methods']:
        for key in ('config', 'test_config'):
            if method.get(key):
                path = osp.join(REPO, method[key])
                assert osp.isfile(path), path
                if key == 'test_config' or not method.get('stage'):
                    load_config(path)
        names.add(method['name'])
    assert spec['reference'] in names
    assert plan_runs(spec)
