"""Hostile programs, checked from outside the sandbox: canaries, a loopback listener, process markers, disk use.

Every case is bounded (pids.max, memory cgroup, tmpfs size, output caps, short deadlines) so the suite cannot
take the machine down; each asserts that nothing it started is still running afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest

import sandboxes
from sandboxes import Limits

from .conftest import ISO, processes_with, skip_unless

FAST = Limits(time_s=2.0, mem_mb=256)
pytestmark = skip_unless("bwrap", "cgroup:memory", "cgroup:pids")


def _spawn_marked(marker: str, seconds: int = 60) -> str:
    """Python source for a detached child whose cmdline carries `marker` (so the test can look for it)."""
    return (
        f"import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({seconds})', '{marker}'],"
        f" start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )


def run(src, backend, limits=FAST, stdin=""):
    return sandboxes.run(src, stdin=stdin, limits=limits, backend=backend)


def test_infinite_loop(backend):
    assert run("while True: pass", backend).status == "timeout"


def test_sleep_loop_caught_by_wall_deadline(backend):
    assert run("import time\nwhile True: time.sleep(0.05)", backend).status == "timeout"


def test_sigterm_ignoring_program(backend, marker):
    src = f"import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nMARK='{marker}'\nwhile True: time.sleep(1)"
    assert run(src, backend).status == "timeout"


def test_fork_bomb_is_contained(backend, marker):
    src = (
        _spawn_marked(marker)
        + "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    r = run(src, backend, Limits(time_s=2.0, mem_mb=256, pids=32))
    assert r.status in ("timeout", "runtime_error", "memory_limit")
    assert processes_with(marker) == []


def test_daemon_does_not_outlive_run(backend, marker):
    r = run(_spawn_marked(marker) + "print('parent done')", backend)
    assert r.status == "passed" and r.stdout == b"parent done\n"
    assert processes_with(marker) == []


def test_orphan_holding_stdout_does_not_hang(backend, marker):
    # The orphan keeps stdout open for 60 s; waiting for EOF would turn this into a timeout.
    src = (
        "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n"
        f"    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', '{marker}'])\n"
        "print('ok')\n"
    )
    r = run(src, backend)
    assert r.status == "passed" and r.stdout == b"ok\n"
    assert processes_with(marker) == []


def test_10gb_allocation(backend):
    assert run("x = bytearray(10 * 1024**3)\nprint(len(x))", backend).status == "memory_limit"


def test_gradual_allocation_hits_cgroup(backend):
    r = run("x = []\nwhile True: x.append(bytearray(8 * 1024**2))", backend)
    assert r.status == "memory_limit"


def test_many_children_of_400mb(backend, marker):
    src = (
        "import os, time\npids = []\nfor _ in range(4):\n    p = os.fork()\n    if p == 0:\n"
        "        b = bytearray(400 * 1024**2)\n        for i in range(0, len(b), 4096): b[i] = 1\n"
        "        time.sleep(1)\n        os._exit(0)\n    pids.append(p)\n"
        "for p in pids: os.waitpid(p, 0)\nprint('done')\n"
    )
    r = run(src, backend, Limits(time_s=5.0, mem_mb=512))
    assert r.status == "memory_limit"


def test_5gb_file_is_refused_and_nothing_stays_on_disk(backend):
    before = shutil.disk_usage("/").used
    src = "f = open('big.bin', 'wb')\nchunk = b'x' * 2**20\nfor _ in range(5 * 1024): f.write(chunk)\nf.close()\n"
    r = run(src, backend, Limits(time_s=5.0, mem_mb=256))
    assert r.status in ("output_limit", "runtime_error", "memory_limit")
    assert r.status != "passed"
    assert shutil.disk_usage("/").used - before < 256 * 2**20  # (other users share the disk: generous bound)


def test_1gb_stdout_flood(backend):
    src = "import sys\nblock = 'y' * 2**20\nfor _ in range(1024): sys.stdout.write(block)\n"
    r = run(src, backend)
    assert r.status == "output_limit"
    assert len(r.stdout) <= int(FAST.stdout_mb * 2**20)


def test_cannot_read_shadow_or_ssh(backend):
    src = (
        "import os\nfor p in ['/etc/shadow', os.path.expanduser('~/.ssh/id_rsa'), '/root/.ssh/authorized_keys',"
        " '/root/.bash_history']:\n    try:\n        print('READ', p, open(p).read()[:20])\n"
        "    except OSError as e:\n        print('denied', p, type(e).__name__)\n"
    )
    r = run(src, backend)
    assert r.status == "passed"
    assert b"READ" not in r.stdout and r.stdout.count(b"denied") == 4


def test_planted_token_not_visible(backend, monkeypatch):
    secret = "hf_" + os.urandom(12).hex()
    monkeypatch.setenv("HF_TOKEN", secret)
    src = (
        "import os, glob\nprint(dict(os.environ))\nfor p in glob.glob('/proc/*/environ'):\n    try:\n"
        "        print(p, open(p, 'rb').read())\n    except OSError:\n        pass\n"
    )
    r = run(src, backend)
    assert r.status == "passed"
    assert secret.encode() not in r.stdout and b"HF_TOKEN" not in r.stdout


def test_cannot_write_outside_work_dir(backend, tmp_path):
    canary = tmp_path / "canary"
    os.chmod(tmp_path, 0o777)
    targets = [str(canary), "/etc/cf_canary", "/usr/cf_canary", "/cf_canary", "/opt/python/cf_canary"]
    src = (
        f"ok = []\nfor p in {targets!r}:\n    try:\n        open(p, 'w').write('x')\n        ok.append(p)\n"
        "    except OSError:\n        pass\nprint('wrote', ok)\nopen('/work/inside.txt', 'w').write('fine')\n"
    )
    r = run(src, backend)
    assert r.status == "passed"
    assert not canary.exists()
    for p in targets[1:4]:
        assert not os.path.exists(p)


@skip_unless("ns:net", "seccomp")
def test_loopback_and_external_connects_fail(backend):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    got = []

    def accept():
        try:
            got.append(listener.accept())
        except OSError:
            pass

    th = threading.Thread(target=accept)
    th.start()
    src = (
        f"import socket\nfor host in [('127.0.0.1', {port}), ('192.0.2.1', 80)]:\n    try:\n"
        "        socket.create_connection(host, timeout=1)\n        print('CONNECTED', host)\n"
        "    except OSError as e:\n        print('blocked', host, e.errno)\n"
    )
    r = run(src, backend)
    th.join()
    listener.close()
    assert r.status == "passed"
    assert b"CONNECTED" not in r.stdout and r.stdout.count(b"blocked") == 2
    assert got == []


def test_killing_the_parent_harms_only_itself(backend, marker):
    src = (
        _spawn_marked(marker)
        + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n"
    )
    r = run(src, backend)
    assert r.status in ("runtime_error", "passed")
    assert processes_with(marker) == []
    assert sandboxes.run("print(1)", backend=backend).status == "passed"  # the backend still works


def test_deep_recursion(backend):
    src = "import sys\nsys.setrecursionlimit(10**8)\ndef f(n): return f(n + 1) + 1\nf(0)\n"
    r = run(src, backend)
    assert r.status in ("runtime_error", "memory_limit")


def test_thread_storm(backend):
    src = (
        "import threading, time\nts = []\nfor _ in range(5000):\n    t = threading.Thread(target=time.sleep,"
        " args=(5,))\n    t.start()\n    ts.append(t)\nprint('all started')\n"
    )
    r = run(src, backend, Limits(time_s=3.0, mem_mb=256, pids=64))
    assert r.status != "passed" and b"all started" not in r.stdout


@skip_unless("seccomp")
def test_seccomp_blocks_inet_sockets_and_ptrace(backend):
    src = (
        "import socket, ctypes\ntry:\n    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n    print('INET')\n"
        "except OSError as e:\n    print('denied', e.errno)\nsocket.socketpair()\nprint('unix ok')\n"
        "print('ptrace', ctypes.CDLL(None).ptrace(0, 0, 0, 0))\n"
    )
    r = run(src, backend)
    assert r.status == "passed", r.stderr
    assert b"INET" not in r.stdout and b"unix ok" in r.stdout and b"ptrace -1" in r.stdout


def test_cpp_fork_bomb_and_memory(marker):
    if not shutil.which("g++"):
        pytest.skip("g++ not installed")
    bomb = "#include <unistd.h>\nint main(){ while(1) fork(); }"
    r = sandboxes.run(bomb, language="cpp", limits=FAST)
    assert r.status in ("timeout", "runtime_error")
    hog = (
        "#include <vector>\n#include <cstdio>\nint main(){ std::vector<char*> v; while(1){ char* p = new char[1<<24];"
        " for(int i=0;i<(1<<24);i+=4096) p[i]=1; v.push_back(p);} }"
    )
    assert sandboxes.run(hog, language="cpp", limits=FAST).status == "memory_limit"


def test_nothing_left_in_cgroups():
    from sandboxes.cgroups import pool

    p = pool()
    for cg in list(p._free):
        assert cg.pids() == []
    assert ISO.has("cgroup:memory")


def test_reused_cgroups_do_not_leak_pids_charges():
    """Regression: bwrap's pid-namespace init used to be orphaned to a non-reaping pid 1, staying charged to the
    reused pids cgroup; after ~62 runs every run failed with "Can't fork for pid 1". Run well past pids.max."""
    import sandboxes
    from sandboxes import cgroups

    if not cgroups.pool().available:
        pytest.skip("no memory+pids cgroups on this host")
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "55\n"}]}
    limits = sandboxes.Limits(pids=16)
    statuses = [sandboxes.run_tests("print(55)\n", tests, limits=limits).status for _ in range(40)]
    assert statuses == ["passed"] * 40
    charged = [cg.pids_current() for cg in cgroups.pool()._free]
    assert charged and all(n == 0 for n in charged), charged
