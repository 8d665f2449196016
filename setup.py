# Copyright (c) rrgkit contributors. All rights reserved.
"""Install rrgkit: ``pip install -e .`` (``.[tests]`` adds the test tools)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_requirements(name: str):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines
            if ln.strip() and not ln.startswith(('#', '-r'))]


def read_version() -> str:
    text = (HERE / 'rrgkit' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


setup(
    name='rrgkit',
    version=read_version(),
    description='A plugin-based toolkit for medical report generation',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['rrgkit', 'rrgkit.*']),
    include_package_data=True,
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
