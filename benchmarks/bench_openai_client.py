"""openai backend throughput against a local server that answers instantly (target: ≥ 500 requests/s at
concurrency 64 on a 2-core machine, so the client is never the bottleneck).

The server (tests/fake_openai_server.py, asyncio) runs in its own process; the client's CPU time is measured with
getrusage on the client process only.  Usage: .venv/bin/python benchmarks/bench_openai_client.py [N] [CONCURRENCY]
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def serve(port_q) -> None:
    from fake_openai_server import FakeOpenAIServer

    srv = FakeOpenAIServer(log_bodies=False).start()
    port_q.put(srv.port)
    while True:
        time.sleep(3600)


def main() -> None:
    from curation.config.distill import TeacherConfig
    from curation.teachers.openai import OpenAIBackend
    from curation.teachers.requests import build_requests

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    q = mp.Queue()
    p = mp.Process(target=serve, args=(q,), daemon=True)
    p.start()
    port = q.get()
    t = TeacherConfig.model_validate(
        {
            "name": "bench",
            "backend": "openai",
            "model": "m",
            "generation": {"n": 1, "max_tokens": 64, "temperature": 0.7, "seed": 0},
            "openai": {"base_url": f"http://127.0.0.1:{port}/v1", "concurrency": conc},
        }
    )
    reqs = build_requests(t, [{"query_id": f"q{i}", "problem": f"Problem {i}: what is {i}+1?"} for i in range(n)])
    be = OpenAIBackend(t)
    list(be.generate(reqs[:200]))  # warm-up: connections, imports
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    ok = sum(r.ok for r in be.generate(reqs))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(
        f"requests={n} ok={ok} concurrency={conc} wall={wall:.2f}s -> {n / wall:.0f} requests/s; "
        f"client CPU {cpu / n * 1e3:.3f} ms/request ({cpu:.2f}s total)"
    )
    p.terminate()


if __name__ == "__main__":
    main()
