#!/usr/bin/env python3
"""One client moving requirements identification -> review one after another, timing each
request on its own (wrk's -c1 latency figures proved unreliable). Every tenth bulk requirement
from id 10 * (21 + START) on waits in identification (scripts/gen-requirements.py).

Usage: scripts/seq-transitions.py PORT COUNT START
"""
import http.client, json, sys, time
port = int(sys.argv[1]); n = int(sys.argv[2]); start = int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/api/v1/auth/login", json.dumps({"username": "admin", "password": "admin123"}), {"content-type": "application/json"})
tok = json.loads(c.getresponse().read())["token"]
h = {"authorization": f"Bearer {tok}", "content-type": "application/json"}
lat = []; bad = 0
t_all = time.time()
for k in range(n):
    rid = 10 * (21 + start + k)
    t = time.perf_counter()
    c.request("POST", f"/api/v1/requirements/{rid}/transitions", '{"to":"review"}', h)
    r = c.getresponse(); r.read()
    lat.append((time.perf_counter() - t) * 1000)
    if r.status != 200: bad += 1
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"n={n} non200={bad} rps={n/(time.time()-t_all):.0f} p50={p(.5):.2f}ms p90={p(.9):.2f}ms p99={p(.99):.2f}ms max={lat[-1]:.1f}ms")
