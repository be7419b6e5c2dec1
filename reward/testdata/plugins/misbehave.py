"""A subprocess reward plugin (reward/PROTOCOL.md) that misbehaves on cue,
for reward's timeout tests. Stdlib only.

The completion selects the behaviour: HANG never answers (it blocks the
whole worker, as a stuck verifier does), WRONGID answers with an id that
was never sent (the request's + 10**9); anything else gets reward 1 when
it equals the answer, else 0.
"""
import json
import sys
import time

for line in sys.stdin:
    req = json.loads(line)
    c = req.get("completion", "")
    if c == "HANG":
        time.sleep(3600)
    rid = req["id"] + 10**9 if c == "WRONGID" else req["id"]
    reward = 1.0 if c == req.get("answer") else 0.0
    sys.stdout.write(json.dumps({"id": rid, "reward": reward}) + "\n")
    sys.stdout.flush()
