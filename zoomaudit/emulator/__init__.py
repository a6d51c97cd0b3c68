"""The tenant emulator: a synthetic Entra tenant and Zoom account served over real HTTP.

Place in the flow: stands in for Microsoft Graph, Entra's token authority and Zoom (SCIM, REST,
OAuth) on 127.0.0.1 for the demo, the tests and the benchmarks. Nothing in the kit's analysis
path imports it. Start one with :class:`Emulator` (``zoomaudit.emulator.server``)::

    from zoomaudit.emulator import Emulator
    with Emulator(users=200, seed=1) as emu:
        print(emu.env())
"""

from __future__ import annotations

__all__ = ["Emulator"]


def __getattr__(name: str):
    if name == "Emulator":  # lazy: importing the package must not pull in uvicorn
        from zoomaudit.emulator.server import Emulator

        return Emulator
    raise AttributeError(name)
