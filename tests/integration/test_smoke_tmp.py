from conftest import *
def test_smoke(server):
    r = server.get("/hello.txt")
    print(r, server.workers(), [proc_title(p) for p in server.workers()], proc_title(server.pid))
    import os
    for w in server.workers():
        print(w, sorted(os.readlink(f"/proc/{w}/fd/{f}") for f in os.listdir(f"/proc/{w}/fd")))
        print(vm_rss_kib(w), cpu_ticks(w))
    assert r.status == 200
