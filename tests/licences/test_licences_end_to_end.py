"""End to end over real HTTP: emulator -> pull (with candidate groups) -> snapshot on disk ->
``zoomaudit licences`` / ``zoomaudit readiness`` CLI files equal the generator's answer key."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zoomaudit.cli import main
from zoomaudit.config import Settings
from zoomaudit.emulator.generate import CANDIDATE_GROUPS, GROUPS, generate_tenant
from zoomaudit.pull import pull
from zoomaudit.snapshot import load
from zoomaudit.sources.http import fast_policy

WAVE = GROUPS[CANDIDATE_GROUPS[0]][0]


@pytest.fixture(scope="module")
def pulled(tmp_path_factory):
    from zoomaudit.emulator.server import Emulator

    emu = Emulator(tenant=generate_tenant(300, seed=11)).start()
    try:
        settings = Settings.from_env(emu.env(), dotenv=None, use_keyring=False)
        out = tmp_path_factory.mktemp("data")
        path = pull(settings, out=out, policy=fast_policy(), candidate_groups=(WAVE,),
                    now=emu.state.clock.now())  # fmt: skip
        # The pull stamps taken_at with the wall clock, the emulator lives at tenant.now and the
        # generator plants users exactly on the 90/30-day boundaries of tenant.now: analyse the
        # snapshot as taken at the tenant's time (what a pull at that moment would record).
        manifest = path / "manifest.json"
        doc = json.loads(manifest.read_text())
        doc["taken_at"] = emu.tenant.now.isoformat()
        manifest.write_text(json.dumps(doc))
        yield emu.tenant, path
    finally:
        emu.stop()


def test_licences_cli_on_a_pulled_snapshot_equals_the_answer_key(pulled, tmp_path):
    tenant, path = pulled
    snap = load(path)
    assert snap.taken_at == tenant.now
    out = tmp_path / "licences.parquet"
    main(["licences", str(path), "--out", str(out), "--price-per-seat", "14.99"])
    got = pd.read_parquet(out)
    key = tenant.answer_key["licences"]
    assert set(zip(got["zoom_user_name"].str.lower(), got["category"], strict=True)) == set(
        zip(key["zoom_user_name"].str.lower(), key["category"], strict=True)
    )


@pytest.mark.parametrize("candidates", ["assigned", WAVE])
def test_readiness_cli_on_a_pulled_snapshot_equals_the_answer_key(pulled, tmp_path, candidates):
    tenant, path = pulled
    out = tmp_path / "readiness.csv"
    args = ["readiness", str(path), "--out", str(out)]
    if candidates != "assigned":
        args += ["--candidates", candidates]
    main(args)
    got = pd.read_csv(out, dtype="str")
    key = tenant.answer_key["readiness"]
    key = key[key["candidates"] == candidates]
    assert set(zip(got["entra_id"], got["category"], strict=True)) == set(
        zip(key["entra_id"], key["category"], strict=True)
    )
