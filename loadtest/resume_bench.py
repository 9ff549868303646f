"""Benchmarks behind the résumé-intake and bus-sealing figures in the docs.

``python -m loadtest.resume_bench rematch --candidates 500 --json docs/bench/rematch-500.json``
stores N parsed résumés for a job and re-matches them through ``PUT /api/jobs/{id}/screening``
on an in-process server (wall time, the API process's CPU, event-loop lag of a 5 ms probe).

``python -m loadtest.resume_bench seal --json docs/bench/bus-seal.json`` times sealing and
opening bus entries (audio-sized, frame-sized, status-sized) with AES-256-GCM and SM4-GCM.

Both need the test extra (the résumé generator lives in ``loadtest/resumes/``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

PROBE_S = 0.005
SCREENING = {
    "requirements": {
        "min_degree": "bachelor",
        "min_years": 2,
        "required_skills": ["Python"],
        "nice_to_have": [
            {"kind": "skill", "value": "Excel", "weight": 2},
            {"kind": "keyword", "value": "团队", "weight": 1},
        ],
    },
    "followups": {"count": 2, "in_ranking": False},
}
SEAL_SIZES_BYTES = {"audio": 3_200, "frame": 25_000, "status": 300}
SEAL_ROUNDS = {"audio": 10_000, "frame": 1_000, "status": 10_000}


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version()}


async def rematch(n: int) -> dict[str, Any]:
    from loadtest.inprocess import make_job, running_server
    from loadtest.resumes import REFERENCE_DATE, bulk
    from server.domain.models import Role
    from server.resumes.extract import extract_profile
    from server.resumes.resume_text import extract_text

    parsed = []
    for case in bulk(100, REFERENCE_DATE):
        extracted = extract_profile(extract_text(case.filename, case.data), REFERENCE_DATE)
        parsed.append((extracted.to_dict(), extracted.text))
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp) / "data", analysis_workers=0) as server:
            hr = await server.add_staff("hr", Role.HR)
            job, warm = await make_job(server, hr), await make_job(server, hr)
            for i in range(n + 1):
                profile, text = parsed[i % len(parsed)]
                await server.svc.candidates.add(
                    org_id=job["org_id"],
                    job_id=(job if i < n else warm)["id"],
                    batch_id=None,
                    filename=f"{i}.txt",
                    file_hash=f"{i:064x}",
                    file_bytes=1,
                    profile=profile,
                    text=text,
                    match={"score": 0.0, "eligible": False, "criteria": []},
                )
            # start the worker process first (its start-up is not what is measured)
            await server.call("PUT", f"/api/jobs/{warm['id']}/screening", token=hr, json=SCREENING)
            lags: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                loop = asyncio.get_running_loop()
                while not done.is_set():
                    t = loop.time()
                    await asyncio.sleep(PROBE_S)
                    lags.append(loop.time() - t - PROBE_S)

            gc.collect()
            gc.freeze()  # the generator's objects are not the server's garbage
            task = asyncio.create_task(probe(), name="lag-probe")
            before = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            got = await server.call(
                "PUT", f"/api/jobs/{job['id']}/screening", token=hr, json=SCREENING
            )
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_SELF)
            done.set()
            await task
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lags.sort()
    return {
        "candidates": n,
        "rematched": got["rematched"],
        "wall_s": round(wall, 3),
        "api_process_cpu_s": round(cpu, 3),
        "loop_lag_max_ms": round(max(lags) * 1000, 1),
        "loop_lag_p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1000, 1),
    }


def seal() -> dict[str, Any]:
    from server.live.streams import BusCipher
    from server.security.keyring import KeyRing

    out: dict[str, Any] = {}
    for algorithm in ("aes-256-gcm", "sm4-gcm"):
        ring = KeyRing.from_json(
            json.dumps({"current": "k1", "keys": {"k1": "A" * 43 + "="}}), algorithm=algorithm
        )
        cipher = BusCipher(ring)
        for name, size in SEAL_SIZES_BYTES.items():
            payload, rounds = os.urandom(size), SEAL_ROUNDS[name]
            t0 = time.perf_counter()
            blobs = [cipher.seal("il:work:x", payload) for _ in range(rounds)]
            t1 = time.perf_counter()
            for blob in blobs:
                cipher.open("il:work:x", blob)
            t2 = time.perf_counter()
            out[f"{algorithm}/{name}"] = {
                "bytes": size,
                "seal_us": round((t1 - t0) / rounds * 1e6, 1),
                "open_us": round((t2 - t1) / rounds * 1e6, 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("rematch", "seal"))
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(rematch(args.candidates)) if args.what == "rematch" else seal()
    report = {"machine": machine(), "result": result}
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
