"""Readiness on generated emulator tenants equals the generator's answer key exactly.

The two candidate groups are pulled as ``pull --candidate-groups`` would record them
(``to_snapshot(candidate_groups=...)``: members listed, ``candidate`` set).
"""

from __future__ import annotations

import pytest

from zoomaudit import readiness
from zoomaudit.emulator.generate import CANDIDATE_GROUPS, GROUPS, generate_tenant
from zoomaudit.emulator.to_snapshot import to_snapshot

NAMES = [GROUPS[k][0] for k in CANDIDATE_GROUPS]


@pytest.fixture(scope="module", params=["default", "mail-username"])
def case(request):
    t = generate_tenant(400, seed=5, scenario=request.param)
    return t, to_snapshot(t, candidate_groups=NAMES)


@pytest.mark.parametrize("candidates", ["assigned", *NAMES])
def test_findings_equal_the_answer_key(case, candidates):
    tenant, s = case
    key = tenant.answer_key["readiness"]
    key = key[key["candidates"] == candidates]
    groups = () if candidates == "assigned" else (candidates,)
    got = readiness.check(s, candidate_groups=groups).findings
    assert len(key) > 0
    assert set(zip(got["entra_id"], got["category"], strict=True)) == set(
        zip(key["entra_id"], key["category"], strict=True)
    )
    assert len(got) == len(key)


def test_the_key_exercises_most_categories(case):
    tenant, _ = case
    seen = set(tenant.answer_key["readiness"]["category"])
    assert len(seen) >= 8, seen
