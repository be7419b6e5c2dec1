# Float64 reference for policy's entropy golden test (TestEntropyGolden):
# the log-prob of the target and the entropy H = -sum_v p_v log p_v of
# softmax(logits / T), written out with Python's math module from the
# definitions (ALGORITHMS §1.4: verl computes the entropy from the logits
# divided by the sampling temperature), independently of package policy.
# Run: python3 testdata/entropy_ref.py
import math

def ref(logits, temperature, target):
    z = [x / temperature for x in logits]
    m = max(z)
    lse = m + math.log(sum(math.exp(v - m) for v in z))
    logp = [v - lse for v in z]
    h = -sum(math.exp(l) * l for l in logp)
    return logp[target], h

ROW = [0.5, -1.25, 2.0, 0.0, 1.5]
for temperature, target in [(1.0, 2), (0.7, 2), (0.7, 1), (1.6, 4)]:
    lp, h = ref(ROW, temperature, target)
    print(f"T={temperature} target={target} logp={lp!r} entropy={h!r}")
