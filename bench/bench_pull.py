"""Benchmark: the kit's full pull vs the floor vs plain httpx + orjson, against the emulator.

The emulator runs in its own process (so CPU and memory of the puller are measured alone),
with ``latency`` ms added to every request and the Zoom plan's rate limits. Each variant runs
in a fresh subprocess:

* ``kit``: ``zoomaudit.pull.pull`` (both sources, concurrently; snapshot written).
* ``same``: the kit's listings (the first-page URLs in its manifest) fetched one request after
  another with plain httpx + orjson (nextLinks / startIndex / next_page_token), no snapshot,
  429s slept through: "the same requests made one after another" of the issue.
* ``plain``: only the user listings (Graph, SCIM, REST), the same way.

The floor is the longest sequential chain: Graph user pages x latency, or the requests of one
Zoom rate-limit label / its rate, whichever is larger.

Usage: ``.venv/bin/python bench/bench_pull.py --users 100000 [--latency 20]`` writes
``bench/results/pull.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

SERVE = r"""
import json, sys, time
t0 = time.perf_counter()
from zoomaudit.emulator.generate import generate_tenant
from zoomaudit.emulator.server import Emulator
from zoomaudit.emulator.core import EmulatorOptions
tenant = generate_tenant({users}, 11)
gen = time.perf_counter() - t0
emu = Emulator(tenant, faults="*:.:latency={latency}x*",
               options=EmulatorOptions(zoom_plan="{plan}")).start()
env = emu.env()
env["_generate_s"] = str(gen)
env["_zoom_users"] = str(len(tenant.zoom_users))
env["_zoom_active"] = str(int((tenant.zoom_users["status"] == "active").sum()))
env["_zoom_inactive"] = str(int((tenant.zoom_users["status"] == "inactive").sum()))
env["_zoom_pending"] = str(int((tenant.zoom_users["status"] == "pending").sum()))
env["_entra_users"] = str(int(tenant.users["deletedDateTime"].isna().sum()))
print(json.dumps(env), flush=True)
sys.stdin.read()
emu.stop()
"""


def variant_kit(env: dict) -> dict:
    # import everything first: CPU is compared with plain httpx, whose imports are not counted
    import azure.identity.aio  # noqa: F401
    import msgraph  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import zoomaudit.sources.graph  # noqa: F401
    import zoomaudit.sources.zoom  # noqa: F401
    from zoomaudit.config import Settings
    from zoomaudit.pull import pull
    from zoomaudit.snapshot import load

    settings = Settings.from_env(env, dotenv=None, use_keyring=False)
    out = tempfile.mkdtemp(prefix="zoomaudit-bench-")
    try:
        gc_time = _gc_timer()
        t0, c0 = time.perf_counter(), time.process_time()
        path = pull(settings, out=out)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        gc_s, gc_n = gc_time()
        # the pull's own high-water mark (the breakdown below re-parses every raw page)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        snap = load(path)
        result = {
            "breakdown": {},
            "gc": [gc_s, gc_n],
            "wall": wall,
            "cpu": cpu,
            "rss_mb": rss_mb,
            "requests": snap.manifest["requests"],
            "counts": snap.manifest["counts"],
            "durations": snap.manifest["durations_s"],
            "queries": snap.manifest["queries"],
        }
        if not os.environ.get("ZOOMAUDIT_BENCH_NO_BREAKDOWN"):
            try:  # the GC thresholds the pull itself runs with (absent in a --baseline-tree)
                from zoomaudit.sources.http import relaxed_gc
            except ImportError:
                from contextlib import nullcontext as relaxed_gc
            with relaxed_gc():
                result["breakdown"] = cpu_breakdown(Path(path))
        return result
    finally:  # a 100k snapshot is ~200 MB; runs add up
        shutil.rmtree(out, ignore_errors=True)


def _gc_timer():
    """Time spent in cyclic-GC collections from now on: call the result for (seconds, n)."""
    import gc

    state = {"t": 0.0, "n": 0, "start": 0.0}

    def callback(phase, info):
        if phase == "start":
            state["start"] = time.perf_counter()
        else:
            state["t"] += time.perf_counter() - state["start"]
            state["n"] += 1

    gc.callbacks.append(callback)

    def done():
        gc.callbacks.remove(callback)
        return round(state["t"], 2), state["n"]

    return done


def cpu_breakdown(path: Path) -> dict:
    """Re-do the kit's local steps on the snapshot's own raw pages (no network), timed."""
    import gzip
    import io
    import zlib

    import orjson

    from zoomaudit import convert
    from zoomaudit.snapshot import load

    pages = {}
    for file in sorted((path / "raw").rglob("*.jsonl.gz")):
        pages[file.relative_to(path / "raw").as_posix()] = gzip.decompress(
            file.read_bytes()
        ).splitlines()
    blob = [line for lines in pages.values() for line in lines]
    out = {"raw_mb": round(sum(map(len, blob)) / 1e6, 1)}
    c = time.process_time()
    parsed = {k: [orjson.loads(x) for x in v] for k, v in pages.items()}
    out["orjson_parse_s"] = time.process_time() - c
    c = time.process_time()
    try:  # the snapshot's own compressor (ISA-L when installed)
        from zoomaudit.snapshot import _gzip_writer
    except ImportError:  # a --baseline-tree from before it existed: zlib level 1
        for line in blob:
            zlib.compress(line, 1)
    else:
        stream = _gzip_writer(io.BytesIO())
        for line in blob:
            stream.write(line + b"\n")
        stream.close()
    out["gzip_raw_pages_s"] = time.process_time() - c
    c = time.process_time()
    users = [u for p in parsed.get("entra/users.jsonl.gz", []) for u in p.get("value", [])]
    convert.entra_users(users)
    scim = [u for p in parsed.get("zoom/scim_users.jsonl.gz", []) for u in p.get("Resources", [])]
    convert.zoom_scim_users(scim)
    rest = [
        u
        for k, v in parsed.items()
        if k.startswith("zoom/users_")
        for p in v
        for u in p.get("users", [])
    ]
    convert.zoom_users(rest)
    out["convert_users_s"] = time.process_time() - c
    if hasattr(convert, "arrow_page"):  # what the kit does: pages straight into Arrow
        c = time.process_time()
        for name, key, parse, fn in (
            ("entra/users", "value", convert.GRAPH_USERS_PAGE, convert.entra_users),
            ("zoom/scim_users", "Resources", convert.SCIM_USERS_PAGE, convert.zoom_scim_users),
            *(
                (f"zoom/users_{status}", "users", convert.REST_USERS_PAGE, convert.zoom_users)
                for status in ("active", "inactive", "pending")
            ),
        ):
            rows = convert.Chunks(fn)
            for line in pages.get(f"{name}.jsonl.gz", []):
                rows.add(parse(line).get(key) or [])
            rows.frame()
        out["arrow_parse_and_convert_users_s"] = time.process_time() - c
    snap = load(path)
    c = time.process_time()
    for frame in snap.tables.values():
        frame.to_parquet(io.BytesIO(), index=False)
    out["parquet_write_s"] = time.process_time() - c
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}


class _Plain:
    """The plain baseline's client: sync httpx + orjson, one request at a time, 429s slept
    through (``requests`` counts every attempt)."""

    def __init__(self, env: dict):
        import httpx

        self.env = env
        self.client = httpx.Client(timeout=60)
        self.requests = 0
        #: ``(raw bytes, parsed page) -> None`` after every page (the "store" variant)
        self.store = None

    def get(self, url, params=None, headers=None) -> dict:
        import orjson

        while True:
            self.requests += 1
            r = self.client.get(url, params=params, headers=headers)
            if r.status_code == 429:
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            r.raise_for_status()
            page = orjson.loads(r.content)
            if self.store is not None:
                self.store(r.content, page)
            return page

    def zoom_headers(self) -> dict:
        """A Zoom S2S OAuth token, as request headers."""
        env = self.env
        token = self.client.post(
            env["ZOOMAUDIT_ZOOM_OAUTH_URL"],
            auth=(env["ZOOMAUDIT_ZOOM_CLIENT_ID"], env["ZOOMAUDIT_ZOOM_CLIENT_SECRET"]),
            data={
                "grant_type": "account_credentials",
                "account_id": env["ZOOMAUDIT_ZOOM_ACCOUNT_ID"],
            },
        ).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}


def variant_plain(env: dict) -> dict:
    graph = env["ZOOMAUDIT_GRAPH_URL"]
    t0, c0 = time.perf_counter(), time.process_time()
    plain = _Plain(env)
    get = plain.get

    gh = {"Authorization": "Bearer x", "ConsistencyLevel": "eventual"}
    select = (
        "id,userPrincipalName,displayName,givenName,surname,mail,mailNickname,otherMails,"
        "proxyAddresses,accountEnabled,department,jobTitle,employeeId,country,"
        "usageLocation,userType,createdDateTime,onPremisesSyncEnabled,assignedLicenses,"
        "signInActivity"
    )
    rows = 0
    chains = {}
    t = time.perf_counter()
    url = f"{graph}/users?$select={select}&$top=500&$count=true"
    while url:
        page = get(url, headers=gh)
        rows += len(page["value"])
        url = page.get("@odata.nextLink")
    chains["graph_users"] = time.perf_counter() - t
    zh = plain.zoom_headers()
    t = time.perf_counter()
    start = 1
    while True:
        page = get(
            env["ZOOMAUDIT_ZOOM_SCIM_URL"] + "/Users", {"startIndex": start, "count": 100}, zh
        )
        got = len(page["Resources"])
        rows += got
        start += got
        if not got or start > page["totalResults"]:
            break
    chains["scim"] = time.perf_counter() - t
    for status in ("active", "inactive", "pending"):
        t = time.perf_counter()
        params = {"status": status, "page_size": 300}
        while True:
            page = get(env["ZOOMAUDIT_ZOOM_API_URL"] + "/users", params, zh)
            rows += len(page["users"])
            if not page.get("next_page_token"):
                break
            params = {**params, "next_page_token": page["next_page_token"]}
        chains[f"rest_{status}"] = time.perf_counter() - t
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": rows,
        "requests": plain.requests,
        "chains": chains,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


class _Store:
    """What a plain script must add to keep what it fetched the way a snapshot does: every
    page gzipped as received (ISA-L level 1, as the kit) and each listing's items written
    as one Parquet table with the types Arrow infers (no contract, no checks)."""

    def __init__(self):
        from isal import igzip

        self.dir = tempfile.mkdtemp(prefix="zoomaudit-bench-plain-")
        self.listing = 0
        self.items: list = []
        self.raw = igzip.IGzipFile(Path(self.dir, "raw.gz"), mode="wb", compresslevel=1)

    def __call__(self, content: bytes, page: dict) -> None:
        self.raw.write(content + b"\n")
        for key in ("value", "Resources", "users", "activity_logs"):
            if isinstance(page.get(key), list):
                self.items.extend(page[key])
                break

    def next_listing(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.items:
            path = Path(self.dir, f"{self.listing}.parquet")
            try:
                pq.write_table(pa.Table.from_pylist(self.items), path)
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
                # e.g. an always-empty object (provisioning logs): nested values as JSON text
                import orjson

                flat = [
                    {
                        k: orjson.dumps(v).decode() if isinstance(v, dict | list) else v
                        for k, v in item.items()
                    }
                    for item in self.items
                ]
                pq.write_table(pa.Table.from_pylist(flat), path)
        self.listing += 1
        self.items = []

    def close(self) -> None:
        self.next_listing()
        self.raw.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def variant_store(env: dict) -> dict:
    return variant_same(env, store=True)


def variant_same(env: dict, store: bool = False) -> dict:
    """The kit's own listings (its manifest's first-page URLs), read one request after another
    with plain httpx + orjson: Graph nextLinks, SCIM startIndex, REST next_page_token. With
    ``store``, each page is also gzipped and each listing written to Parquet (:class:`_Store`)."""
    import httpx

    queries = env["_queries"]
    if store:  # imports are not counted (as the kit's)
        import isal.igzip  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    t0, c0 = time.perf_counter(), time.process_time()
    plain = _Plain(env)
    plain.store = sink = _Store() if store else None
    get = plain.get
    gh = {
        "Authorization": f"Bearer {env['ZOOMAUDIT_GRAPH_TOKEN']}",
        "ConsistencyLevel": "eventual",
    }
    for url in queries["graph"]:
        while url:
            url = get(url, headers=gh).get("@odata.nextLink")
        if sink:
            sink.next_listing()
    zh = plain.zoom_headers()
    for url in queries["zoom"]:
        base = httpx.URL(url)
        if base.path.endswith("/Users"):  # SCIM: startIndex by what each page returned
            start = 1
            while True:
                page = get(base.copy_set_param("startIndex", start), headers=zh)
                got = len(page.get("Resources") or [])
                start += got
                if not got or start > page.get("totalResults", 0):
                    break
        else:
            page = get(base, headers=zh)
            while page.get("next_page_token"):
                token = page["next_page_token"]
                page = get(base.copy_set_param("next_page_token", token), headers=zh)
        if sink:
            sink.next_listing()
    if sink:
        sink.close()
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "requests": plain.requests,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_variant(name: str, env: dict, tree: str | None = None) -> dict:
    """One variant in a fresh process; ``tree``: import ``zoomaudit`` from another checkout
    (e.g. ``git archive <rev> zoomaudit | tar -x -C /tmp/base``) for a before/after run."""
    extra = {"PYTHONPATH": tree} if tree else {}
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [PY, __file__, "--variant", name],
        input=json.dumps(env),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CI": "1", **extra},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = round((load + os.getloadavg()[0]) / 2, 1)
    return out


def median_run(runs: list[dict]) -> dict:
    """The run with the median CPU time (its wall time and memory come with it)."""
    return sorted(runs, key=lambda r: r["cpu"])[len(runs) // 2]


def runs_text(name: str, runs: list[dict]) -> str:
    cells = ", ".join(
        f"{r['cpu']:.1f} s CPU / {r['wall']:.1f} s wall (load {r['load']})" for r in runs
    )
    return f"* {name}: {cells}"


def floor_seconds(env: dict, latency: float, plan: str) -> tuple[float, str]:
    from zoomaudit.sources.zoom import RATE_LIMITS

    n_entra = int(env["_entra_users"])
    graph = math.ceil(n_entra / 500) * latency / 1000
    scim = math.ceil((int(env["_zoom_active"]) + int(env["_zoom_inactive"])) / 100)
    rest = sum(
        max(1, math.ceil(int(env[f"_zoom_{s}"]) / 300)) for s in ("active", "inactive", "pending")
    )
    medium = (scim + rest) / RATE_LIMITS[plan]["medium"]
    if graph >= medium:
        return graph, f"Graph users: {math.ceil(n_entra / 500)} pages x {latency:.0f} ms"
    return medium, (
        f"Zoom MEDIUM label: {scim} SCIM + {rest} REST pages at "
        f"{RATE_LIMITS[plan]['medium']:.0f}/s"
    )


@contextlib.contextmanager
def emulators(users: int, latency: float, plan: str):
    """The Graph and Zoom emulators of one generated tenant, each in its own process (same
    seed = same tenant: the emulator is pure Python and would otherwise make Graph wait for
    the CPU spent on Zoom pages); yields the ``ZOOMAUDIT_*`` settings of both."""
    servers = [
        subprocess.Popen(
            [PY, "-c", SERVE.format(users=users, latency=latency, plan=plan)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    try:
        graph_env, zoom_env = (json.loads(s.stdout.readline()) for s in servers)
        env = dict(zoom_env)
        for key in ("ZOOMAUDIT_GRAPH_URL", "ZOOMAUDIT_GRAPH_TOKEN"):
            env[key] = graph_env[key]
        yield env
    finally:
        for s in servers:
            s.stdin.close()
        for s in servers:
            s.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--latency", type=float, default=20.0)
    ap.add_argument("--plan", default="business")
    ap.add_argument("--variant")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "pull.md"))
    ap.add_argument("--repeat", type=int, default=1, help="interleaved runs of each variant")
    ap.add_argument(
        "--no-breakdown",
        action="store_true",
        help="skip re-doing the local steps on the raw pages (it holds them all parsed: "
        "several GB at 1M users)",
    )
    ap.add_argument(
        "--baseline-tree",
        help="also run the kit with zoomaudit imported from this directory (before/after)",
    )
    args = ap.parse_args()
    if args.no_breakdown:
        os.environ["ZOOMAUDIT_BENCH_NO_BREAKDOWN"] = "1"
    if args.variant:
        env = json.loads(sys.stdin.read())
        fn = {
            "kit": variant_kit,
            "plain": variant_plain,
            "same": variant_same,
            "store": variant_store,
        }[args.variant]
        print(json.dumps(fn(env)))
        return
    with emulators(args.users, args.latency, args.plan) as env:
        # interleaved (kit, baseline, plain, kit, ...): a load spike from other jobs on the
        # machine hits every variant alike; the median-CPU run of each is reported
        kits, plains, bases, sames, stores = [], [], [], [], []
        for _ in range(args.repeat):
            kits.append(run_variant("kit", env))
            if args.baseline_tree:
                bases.append(run_variant("kit", env, args.baseline_tree))
            plains.append(run_variant("plain", env))
            sames.append(run_variant("same", {**env, "_queries": kits[-1]["queries"]}))
            stores.append(run_variant("store", {**env, "_queries": kits[-1]["queries"]}))
        kit, plain, same = median_run(kits), median_run(plains), median_run(sames)
        store = median_run(stores)
    floor, chain = floor_seconds(env, args.latency, args.plan)
    chains = plain["chains"]
    measured = max(chains["graph_users"], chains["rest_active"], floor)
    which = max(("graph_users", "rest_active"), key=lambda k: chains[k])
    if measured == floor:
        measured_text = (
            f"{measured:.1f} s (= the floor: the {which} chain fetched alone by plain httpx "
            f"took only {chains[which]:.1f} s)"
        )
    else:
        measured_text = (
            f"{measured:.1f} s (the {which} chain fetched alone by plain httpx, i.e. "
            "including the emulator's own time per page)"
        )
    n = int(env["_entra_users"]) + int(env["_zoom_users"])
    lines = [
        f"## Pull benchmark ({args.users:,} users)",
        "",
        f"Command: `.venv/bin/python bench/bench_pull.py --users {args.users} "
        f"--latency {args.latency:.0f} --plan {args.plan} --repeat {args.repeat}"
        + (f" --baseline-tree {args.baseline_tree}" if args.baseline_tree else "")
        + "`  ",
        f"Tenant: {env['_entra_users']} Entra users, {env['_zoom_users']} Zoom users "
        f"(generated in {float(env['_generate_s']):.1f} s); Graph and Zoom emulators in their "
        "own processes, "
        f"{args.latency:.0f} ms added to every request, Zoom {args.plan} rate limits.",
        "",
        "| measure | kit pull | plain httpx + orjson, the kit's requests one after another "
        "| plain httpx + orjson, user listings only | floor |",
        "|---|---|---|---|---|",
        f"| wall time | {kit['wall']:.1f} s | {same['wall']:.1f} s | {plain['wall']:.1f} s | "
        f"{floor:.1f} s ({chain}) |",
        f"| / floor | {kit['wall'] / floor:.2f}x (goal <= 1.3x) | {same['wall'] / floor:.2f}x | "
        f"{plain['wall'] / floor:.2f}x | 1.00x |",
        f"| measured chain floor | {measured_text} | | | |",
        f"| / measured chain floor | {kit['wall'] / measured:.2f}x | "
        f"{same['wall'] / measured:.2f}x | {plain['wall'] / measured:.2f}x | |",
        f"| CPU | {kit['cpu']:.1f} s | {same['cpu']:.1f} s | {plain['cpu']:.1f} s | |",
        f"| CPU per 1,000 users | {kit['cpu'] / n * 1e6:.0f} ms | {same['cpu'] / n * 1e6:.0f} ms "
        f"| {plain['cpu'] / n * 1e6:.0f} ms | |",
        f"| kit CPU / this CPU | 1x | {kit['cpu'] / same['cpu']:.2f}x (goal <= 1.3x) | "
        f"{kit['cpu'] / plain['cpu']:.2f}x | |",
        f"| the kit's requests one after another, each page also gzipped and each listing "
        f"written to Parquet (plain's own storage) | CPU {store['cpu']:.1f} s, "
        f"{store['cpu'] / n * 1e6:.0f} ms per 1,000 users: kit / this "
        f"{kit['cpu'] / store['cpu']:.2f}x | | | |",
        f"| peak RSS | {kit['rss_mb']:.0f} MB | {same['rss_mb']:.0f} MB | "
        f"{plain['rss_mb']:.0f} MB | |",
        f"| requests | {sum(kit['requests']['requests'].values())} "
        f"(retries {sum(kit['requests']['retries'].values())}) | {same['requests']} | "
        f"{plain['requests']} | |",
        "",
        f"Runs ({args.repeat} of each, interleaved; the table shows the median-CPU run; load = "
        "1-minute load average around the run):",
        "",
        runs_text("kit", kits),
        *([runs_text(f"kit from {args.baseline_tree} (before)", bases)] if bases else []),
        runs_text("plain, the kit's requests", sames),
        runs_text("plain, user listings only", plains),
        runs_text("plain + storage, the kit's requests", stores),
        *(
            [
                f"* median CPU before -> after: {median_run(bases)['cpu']:.1f} s -> "
                f"{kit['cpu']:.1f} s (plain {plain['cpu']:.1f} s); median wall "
                f"{sorted(r['wall'] for r in bases)[len(bases) // 2]:.1f} s -> "
                f"{sorted(r['wall'] for r in kits)[len(kits) // 2]:.1f} s"
            ]
            if bases
            else []
        ),
        "",
        "The kit also pulls deleted users, the app, assignments, group members, provisioning "
        "logs, sync jobs + schema, plans, domains and activities, converts everything to typed "
        "tables and writes the snapshot (raw gzip pages + Parquet). The plain variants fetch and "
        "parse only: the kit's requests (its manifest's listings, every page, one after "
        "another; a few single-object GETs such as group lookups are not in the manifest), or "
        "only the user listings (Graph, SCIM, REST).",
        "",
        f"Kit durations: {json.dumps(kit['durations'])}",
        f"Kit cyclic-GC pauses during the pull: {kit['gc'][0]} s in {kit['gc'][1]} collections",
        f"Kit CPU breakdown (local steps redone on the snapshot's raw pages, CPU s): "
        f"{json.dumps(kit['breakdown'])}",
        f"Plain chains (s): {json.dumps({k: round(v, 2) for k, v in chains.items()})}",
        f"Kit counts: {json.dumps(kit['counts'])}",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
