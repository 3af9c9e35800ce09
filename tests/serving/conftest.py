"""Fixtures shared by the coder tests: the FY2026 code set and a BM25-only coder (no MiniLM load,
so the end-to-end coder tests stay fast)."""

from datetime import date

import pytest

from medcore.refdata.releases import codeset_for
from serving.pipeline.coder import Coder


@pytest.fixture(scope="module")
def cs():
    return codeset_for(date(2026, 6, 1))


@pytest.fixture(scope="module")
def coder():
    return Coder(dense=False)
