"""Install s2d_mm, the S2D plugin for mmaction2.

Requirement sets live in ``requirements/`` (OpenMMLab layout). ``tools/install.sh``
(``make install``) is the supported way to build a working environment, because
parts of the OpenMMLab stack need build flags that plain ``pip install`` cannot
express (see README).
"""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version():
    with open(osp.join(HERE, 's2d_mm', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname):
    """Read a requirements file, following ``-r`` includes, skipping comments."""
    reqs = []
    path = osp.join(HERE, fname)
    if not osp.exists(path):
        return reqs
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


if __name__ == '__main__':
    setup(
        name='s2d_mm',
        version=get_version(),
        description='S2D (From Static to Dynamic) video facial expression '
        'recognition as an OpenMMLab / mmaction2 plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        packages=find_packages(include=('s2d_mm', 's2d_mm.*')),
        include_package_data=True,
        python_requires='>=3.9',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'mim': parse_requirements('requirements/mminstall.txt'),
            'torch': parse_requirements('requirements/torch.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
            'deploy': parse_requirements('requirements/optional.txt'),
        },
        zip_safe=False,
    )
