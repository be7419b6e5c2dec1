#!/usr/bin/env python3
"""A stdlib-only rlpipe subprocess reward worker (see reward/PROTOCOL.md).

Run by rlpipe as:  rlpipe score --reward 'subprocess:python3 examples/python_verifier/verifier.py'

It reads one JSON request per line on stdin and writes one JSON reply per
line on stdout: reward 1.0 when the completion's final answer (last \\boxed{...},
<answer>...</answer> or "#### ...") equals the reference answer after light
normalisation, else 0.0. Diagnostics go to stderr, never stdout.
"""
import json
import re
import sys


def last_boxed(text):
    i = text.rfind("\\boxed{")
    if i < 0:
        return None
    depth, start = 0, i + len("\\boxed")
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:j]
    return None


def extract(text):
    tags = re.findall(r"<answer>(.*?)</answer>", text, re.S)
    if tags:
        return last_boxed(tags[-1]) or tags[-1]
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    hashes = re.findall(r"####\s*(.+)", text)
    return hashes[-1] if hashes else None


def normalise(s):
    s = s.strip().strip("$").rstrip(".")
    s = s.replace("\\!", "").replace("\\$", "").replace(",", "").replace(" ", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    try:
        return repr(float(s))
    except ValueError:
        return s


def score(req):
    pred = extract(req.get("completion", ""))
    if pred is None:
        return {"id": req["id"], "reward": 0.0, "parts": {"has_answer": 0.0}}
    ok = normalise(pred) == normalise(req.get("answer", ""))
    return {"id": req["id"], "reward": 1.0 if ok else 0.0, "parts": {"has_answer": 1.0}}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            reply = score(req)
        except Exception as e:  # a row error, not a crash
            reply = {"id": req.get("id"), "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
