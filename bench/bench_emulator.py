"""Benchmark: pull 100k Entra users from the Graph emulator over real HTTP (Graph half).

The emulator runs in a child process (uvicorn, one worker, h11, 127.0.0.1) serving a tenant from
``generate_tenant``; its CPU time is read from ``/proc/<pid>/stat`` so the client is not
counted. The client is plain httpx + orjson: ``GET /v1.0/users?$select=<10 props>&$top=999``
following ``@odata.nextLink``. First a cold pull (every page built from the DataFrame and
serialised), then a warm one (pages from the emulator's page cache); the warm and later pulls
keep the best of two runs. A third pull adds
``$filter=accountEnabled eq true`` (positions computed once per query). A fourth selects
``signInActivity`` (capped at 500 per page).

Baseline, side by side: the same client pulling the same number of pages from a bare Starlette
app in a child process that returns one constant pre-serialised 999-user page (the transport
floor: uvicorn + h11 + httpx + orjson, no emulator logic). Ratios are emulator / baseline.
The Zoom half lives in ``bench_zoom_emulator.py``. Writes bench/results/emulator.md (or the
file named by a second argument, e.g. ``emulator_1m.md`` for a 1M run).

Run: ``.venv/bin/python bench/bench_emulator.py [N] [RESULT_FILE]`` (default N = 100,000).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).resolve().parent
TICKS = os.sysconf("SC_CLK_TCK")
SELECT = (
    "id,userPrincipalName,displayName,mail,accountEnabled,department,employeeId,"
    "usageLocation,assignedLicenses,createdDateTime"
)


# ---------------------------------------------------------------- child processes


def serve_emulator(n: int) -> None:
    """Child: generate the tenant, serve Graph, print the port and the generation time."""
    from zoomaudit.emulator.core import EmulatorOptions
    from zoomaudit.emulator.generate import generate_tenant
    from zoomaudit.emulator.server import Emulator

    t0 = time.perf_counter()
    tenant = generate_tenant(n, 11)
    gen = time.perf_counter() - t0
    options = EmulatorOptions(reports_limit=(1000, 1.0))
    emu = Emulator(tenant, options=options, zoom=False, freeze_gc=True).start()
    print(f"{emu.port('graph')} {gen:.2f} {len(tenant.users)}", flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    emu.stop()


def serve_static(pages: int) -> None:
    """Child: a bare Starlette app answering one constant 999-user page ``pages`` times."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from zoomaudit.emulator.server import ServerThread

    user = {"id": "5c6b0c2e-1f0d-4b7e-9a11-3a5e0b7d2f01", "userPrincipalName": "a@b.example",
            "displayName": "Ana Ruiz", "mail": "a@b.example", "accountEnabled": True,
            "department": "Sales", "employeeId": "E10442", "usageLocation": "ES",
            "assignedLicenses": [{"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900",
                                  "disabledPlans": []}],
            "createdDateTime": "2024-01-01T00:00:00Z"}  # fmt: skip
    state = {"port": 0}

    async def users(request):
        n = int(request.query_params.get("$skiptoken", "0"))
        body = {"@odata.context": "x", "value": [user] * 999}
        if n + 1 < pages:
            body["@odata.nextLink"] = (
                f"http://127.0.0.1:{state['port']}/v1.0/users?$top=999&$skiptoken={n + 1}"
            )
        return Response(orjson.dumps(body), media_type="application/json")

    server = ServerThread(Starlette(routes=[Route("/v1.0/users", users)]))
    state["port"] = server.start()
    print(f"{state['port']} 0 0", flush=True)
    sys.stdin.read()
    server.stop()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ---------------------------------------------------------------- client


def pull(url: str, params: dict | None, pid: int) -> dict:
    """Follow nextLinks with httpx + orjson; wall, client CPU and server CPU."""
    headers = {"Authorization": "Bearer bench"}
    count = pages = 0
    s0, c0, w0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    with httpx.Client(headers=headers, timeout=120) as client:
        resp = client.get(url, params=params)
        while True:
            resp.raise_for_status()
            body = orjson.loads(resp.content)
            count += len(body["value"])
            pages += 1
            nxt = body.get("@odata.nextLink")
            if not nxt:
                break
            resp = client.get(nxt)
    return {
        "users": count,
        "pages": pages,
        "wall": time.perf_counter() - w0,
        "client_cpu": time.process_time() - c0,
        "server_cpu": cpu_seconds(pid) - s0,
    }


def start_child(mode: str, arg: int) -> tuple[subprocess.Popen, int, float, int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, mode, str(arg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    port, gen, users = proc.stdout.readline().split()
    return proc, int(port), float(gen), int(users)


def stop_child(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def main(n: int, result: str = "emulator.md") -> None:
    proc, port, gen, total = start_child("--serve-emulator", n)
    base = f"http://127.0.0.1:{port}/v1.0/users"
    try:
        rss0 = rss_mb(proc.pid)
        queries = [
            ("$select 10 props, $top=999", {"$select": SELECT, "$top": "999"}),
            ("$filter=accountEnabled eq true",
             {"$select": SELECT, "$top": "999", "$filter": "accountEnabled eq true"}),
            ("default 11 props, $top=999", {"$top": "999"}),
            ("signInActivity (500/page)",
             {"$select": "id,userPrincipalName,signInActivity", "$top": "999"}),
        ]  # fmt: skip
        # each query twice: cold (pages built from the DataFrame), then warm (page cache)
        rows = [
            (name, [pull(base, params, proc.pid) for _ in range(2)]) for name, params in queries
        ]
        rss1 = rss_mb(proc.pid)
    finally:
        stop_child(proc)
    live_pages = rows[0][1][0]["pages"]
    sproc, sport, _, _ = start_child("--serve-static", live_pages)
    try:
        runs = [pull(f"http://127.0.0.1:{sport}/v1.0/users", {"$top": "999"}, sproc.pid)
                for _ in range(2)]  # fmt: skip
        base_row = min(runs, key=lambda r: r["wall"])
    finally:
        stop_child(sproc)
    write(n, total, gen, rows, base_row, rss0, rss1, result)


def write(n, total, gen, rows, base_row, rss0, rss1, result) -> None:
    lines = [
        f"## Emulator: Graph users over HTTP ({n:,} users)",
        "",
        f"`{Path(sys.executable).name} bench/bench_emulator.py {n} {result}` on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}). Emulator in a child "
        "process (uvicorn + h11, one worker), server CPU from /proc/<pid>/stat; client plain "
        "httpx + orjson in the parent. Each query runs twice: cold (pages built from the "
        "DataFrame and serialised), then warm (pages from the emulator's page cache). "
        "Baseline: a bare Starlette child returning a constant pre-serialised 999-user page, "
        "same number of pages, same client (best of two).",
        "",
        f"Tenant: {total:,} users from `generate_tenant({n}, 11)` in {gen:.1f} s; emulator "
        f"RSS {rss0:.0f} MB after start, {rss1:.0f} MB after the pulls. Load average while "
        f"measuring: {os.getloadavg()[0]:.1f} (shared machine; the baseline ran alongside).",
        "",
        "| pull | users | pages | cold wall s | cold server CPU s | warm wall s "
        "| warm server CPU s | client CPU s | cold / baseline | warm / baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bw = base_row["wall"] or float("nan")
    for name, (cold, warm) in rows:
        lines.append(
            f"| {name} | {cold['users']:,} | {cold['pages']} | {cold['wall']:.2f} | "
            f"{cold['server_cpu']:.2f} | {warm['wall']:.2f} | {warm['server_cpu']:.2f} | "
            f"{cold['client_cpu']:.2f} | {cold['wall'] / bw:.2f} | {warm['wall'] / bw:.2f} |"
        )
    b = base_row
    lines.append(
        f"| baseline: constant page (transport floor) | {b['users']:,} | {b['pages']} | "
        f"{b['wall']:.2f} | {b['server_cpu']:.2f} | | | {b['client_cpu']:.2f} | 1.00 | |"
    )
    cold, warm = rows[0][1]
    lines += [
        "",
        "Server CPU per 999-user page, `$select` of 10 properties: "
        f"{1000 * cold['server_cpu'] / max(1, cold['pages']):.1f} ms cold, "
        f"{1000 * warm['server_cpu'] / max(1, warm['pages']):.1f} ms warm.",
        "",
    ]
    out = HERE / "results" / result
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-emulator":
        serve_emulator(int(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve-static":
        serve_static(int(sys.argv[2]))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, *sys.argv[2:3])
