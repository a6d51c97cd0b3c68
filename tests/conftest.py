"""Shared fixtures: a scrubbed environment and in-process emulators on free 127.0.0.1 ports.

- ``clean_env`` (autouse): removes every real ``ZOOMAUDIT_*`` variable (and ``AZURE_*``
  authority overrides) so no test can reach a real tenant or read a developer's secrets, and
  disables the keyring lookup.
- ``make_emulator(**kwargs)``: a factory starting :class:`zoomaudit.emulator.Emulator` with the
  given arguments (``tenant=``, ``users=``, ``seed=``, ``faults=``, ``options=``, ``clock=``,
  ``https_authority=``, ``zoom=``); defaults to a small generated tenant. Everything it
  started is stopped after the test.
- ``emulator``: one started emulator (60 generated users, seed 7) for a test.
- ``emulator_session``: the same tenant shared by a whole session: READ-ONLY use (no writes,
  no faults, no clock moves), for tests that only pull.
"""

from __future__ import annotations

import os

import pytest

#: switches for the test run itself, not settings of the kit: kept
TEST_SWITCHES = {"ZOOMAUDIT_REQUIRE_BROWSER", "ZOOMAUDIT_LIVE"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("live"):
        return  # live-tenant tests read the real settings (they skip without them)
    for name in list(os.environ):
        if name in TEST_SWITCHES:
            continue
        if name.startswith("ZOOMAUDIT_") or name in (
            "AZURE_AUTHORITY_HOST",
            "AZURE_CLIENT_SECRET",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZOOMAUDIT_NO_KEYRING", "1")


@pytest.fixture(autouse=True)
def reset_cli_logging():
    """A CLI run in-process configures the ``zoomaudit`` logger; undo it after each test."""
    yield
    import logging

    logger = logging.getLogger("zoomaudit")
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


@pytest.fixture
def make_emulator():
    from zoomaudit.emulator.server import Emulator

    started: list[Emulator] = []

    def factory(**kwargs) -> Emulator:
        if kwargs.get("tenant") is None:
            kwargs.setdefault("users", 60)
            kwargs.setdefault("seed", 7)
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(make_emulator):
    return make_emulator()


@pytest.fixture(scope="session")
def emulator_session():
    from zoomaudit.emulator.server import Emulator

    emu = Emulator(users=60, seed=7).start()
    yield emu
    emu.stop()
