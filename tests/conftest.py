"""Shared test helpers.

The tools, configs and fixtures use paths relative to the repository root (OpenMMLab's convention: tools are run
from the root), so the suite changes into the root before it collects anything; it then gives the same result
from any working directory (``pytest /path/to/largekernel/tests``).
"""
import os
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def pytest_configure(config):
    os.chdir(ROOT)
