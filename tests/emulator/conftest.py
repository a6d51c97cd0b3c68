"""Fixtures of the Graph emulator tests (``test_graph_users``, ``test_graph_directory``,
``test_graph_faults``):
a module-wide read-only tenant (``emu``/``graph``) and one of its own per test
(``fresh``/``fgraph``) for tests that inject faults or change it. Modules that need another
tenant define their own ``emu``/``graph``, which take precedence."""

from __future__ import annotations

import pytest
from graph_tenant import client, shared, start


@pytest.fixture(scope="module")
def emu():
    """Shared by the read-only tests of this module."""
    with shared() as running:
        yield running


@pytest.fixture
def graph(emu):
    with client(emu) as c:
        yield c


@pytest.fixture
def fresh(make_emulator):
    """An emulator of its own, for tests that inject faults or change the tenant."""
    return start(make_emulator)


@pytest.fixture
def fgraph(fresh):
    with client(fresh) as c:
        yield c
