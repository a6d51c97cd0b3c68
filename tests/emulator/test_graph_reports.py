"""Graph emulator: provisioning logs and synchronization jobs (§9 11-12, reports rate limit)."""

from __future__ import annotations

import orjson
import pytest
from graph_tenant import JOB_ID, NOW, RULE_ID, client, gid, start

from zoomaudit.emulator.core import EmulatorOptions


@pytest.fixture
def emu(make_emulator):
    return start(make_emulator, options=EmulatorOptions(reports_limit=(100, 10.0)))


@pytest.fixture
def graph(emu):
    with client(emu) as c:
        yield c


def events(graph, **params) -> list[dict]:
    page = graph.get("/auditLogs/provisioning", params=params).json()
    out = list(page["value"])
    while "@odata.nextLink" in page:
        page = graph.get(page["@odata.nextLink"]).json()
        out += page["value"]
    return out


def test_retention_is_30_days_on_the_clock(graph, emu):
    got = events(graph, **{"$top": "7"})
    # daily events aged 1..40 days (+1 h): those younger than 30 days are the 29 aged 1..29
    assert len(got) == 29
    assert len({e["id"] for e in got}) == 29
    emu.state.clock.advance(5 * 86400)
    assert len(events(graph)) == 24


def test_free_retention_option(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(log_retention_days=7))
    with client(emu) as graph:
        assert len(events(graph)) == 6  # aged 1..6 days (+1 h)


def test_orderby_desc_default_and_asc(graph):
    desc = [e["activityDateTime"] for e in events(graph, **{"$orderby": "activityDateTime desc"})]
    assert desc == sorted(desc, reverse=True)
    asc = [e["activityDateTime"] for e in events(graph, **{"$orderby": "activityDateTime asc"})]
    assert asc == sorted(asc)


def test_microsoft_example_filter(graph, emu):
    sp = emu.tenant.service_principal["id"]
    flt = (f"((contains(tolower(servicePrincipal/id),'{sp}') or "
           f"contains(tolower(servicePrincipal/displayName),'{sp}')) and "
           "activityDateTime gt 2025-02-20 and activityDateTime lt 2025-02-23)")  # fmt: skip
    got = events(graph, **{"$filter": flt, "$top": "500", "$orderby": "activityDateTime desc"})
    assert [e["activityDateTime"][:10] for e in got] == ["2025-02-22", "2025-02-21", "2025-02-20"]


def test_filters_on_status_and_action_are_case_sensitive(graph):
    failures = events(graph, **{"$filter": "provisioningStatusInfo/status eq 'failure'"})
    assert failures and all(e["provisioningStatusInfo"]["status"] == "failure" for e in failures)
    assert events(graph, **{"$filter": "provisioningStatusInfo/status eq 'Failure'"}) == []
    staged = events(graph, **{"$filter": "provisioningAction eq 'stagedDelete'"})
    assert len(staged) == 1


def test_unknown_filter_property_is_rejected(graph):
    resp = graph.get("/auditLogs/provisioning", params={"$filter": "colour eq 'x'"})
    assert resp.status_code == 400


def test_reports_limit_5_per_10_seconds(make_emulator):
    emu = start(make_emulator)  # default limit, still clock
    with client(emu) as graph:
        codes = [graph.get("/auditLogs/provisioning").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        last = graph.get("/auditLogs/provisioning")
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
        emu.state.clock.advance(10)
        assert graph.get("/auditLogs/provisioning").status_code == 200


def test_provisioning_logs_need_premium(make_emulator):
    emu = start(make_emulator, options=EmulatorOptions(premium=False))
    with client(emu) as graph:
        assert graph.get("/auditLogs/provisioning").status_code == 403


# ---- synchronization


def job_url(emu, suffix: str = "") -> str:
    sp = emu.tenant.service_principal["id"]
    return f"/servicePrincipals/{sp}/synchronization/jobs/{JOB_ID}{suffix}"


def test_jobs_and_schema(graph, emu):
    sp = emu.tenant.service_principal["id"]
    jobs = graph.get(f"/servicePrincipals/{sp}/synchronization/jobs").json()["value"]
    assert [j["id"] for j in jobs] == [JOB_ID]
    schema = graph.get(job_url(emu, "/schema")).json()
    assert schema["synchronizationRules"][0]["id"] == RULE_ID
    other = gid("sp-hr")
    assert graph.get(f"/servicePrincipals/{other}/synchronization/jobs").json()["value"] == []


def test_pause_start_and_restart_clears_quarantine(graph, emu):
    assert graph.post(job_url(emu, "/pause")).status_code == 204
    job = graph.get(job_url(emu)).json()
    assert (job["status"]["code"], job["schedule"]["state"]) == ("Paused", "Paused")
    assert graph.post(job_url(emu, "/start")).status_code == 204
    assert graph.get(job_url(emu)).json()["schedule"]["state"] == "Active"
    emu.tenant.sync_jobs[0]["status"]["code"] = "Quarantine"
    body = {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}
    assert graph.post(job_url(emu, "/restart"), json=body).status_code == 204
    status = graph.get(job_url(emu)).json()["status"]
    assert status["code"] == "Active" and status["quarantine"] is None
    assert status["lastExecution"]["countEscrowed"] == 0


def _pod(graph, emu, user: str):
    subject = {"objectId": gid(user), "objectTypeName": "User"}
    body = {"parameters": [{"ruleId": RULE_ID, "subjects": [subject]}]}
    return graph.post(job_url(emu, "/provisionOnDemand"), json=body)


def test_provision_on_demand_double_encoded_answer(graph, emu):
    before = len(emu.tenant.provisioning_events)
    resp = _pod(graph, emu, "u02")  # in scope via the assigned group, not yet in Zoom
    assert resp.status_code == 200
    body = resp.json()
    key, value = orjson.loads(body["key"]), orjson.loads(body["value"])
    assert key["result"] == "Success" and value["action"] == "Create"
    assert value["provisioningSteps"][0]["type"] == "Import"
    assert len(emu.tenant.provisioning_events) == before + 1
    nested = orjson.loads(_pod(graph, emu, "u04").json()["key"])  # nested-only member
    assert nested["result"] == "Skipped"
    existing = orjson.loads(_pod(graph, emu, "u01").json()["key"])  # already in Zoom
    assert existing["details"]["errorCode"] == "RedundantExport"


def test_provision_on_demand_limit_and_bad_rule(make_emulator):
    emu = start(make_emulator)
    with client(emu) as graph:
        codes = [_pod(graph, emu, "u02").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        emu.state.clock.advance(10)
        bad = graph.post(
            job_url(emu, "/provisionOnDemand"),
            json={
                "parameters": [
                    {
                        "ruleId": "nope",
                        "subjects": [{"objectId": gid("u02"), "objectTypeName": "User"}],
                    }
                ]
            },
        )
        assert bad.status_code == 400


def test_clock_is_the_tenant_clock(emu):
    assert emu.state.clock.now() == NOW
