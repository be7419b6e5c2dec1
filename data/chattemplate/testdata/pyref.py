"""Python reference for the parts of a chat template that transformers
evaluates with Python itself: str methods (Jinja2 calls them directly, and
its |trim filter is str.strip) and datetime.strftime (strftime_now).

stdin:  {"str": [{"op": "strip", "s": "...", "arg": "..." | null}, ...],
         "time": [{"t": [Y, M, D, h, m, s, us], "format": "..."}, ...]}
stdout: {"str": ["result", ...], "time": ["result", ...]}
"""
import datetime
import json
import sys

SEP = "\u00a6"


def str_op(op, s, arg):
    if op in ("strip", "lstrip", "rstrip", "trim"):
        return getattr(s, "strip" if op == "trim" else op)(arg)
    if op == "split":
        return SEP.join(s.split(arg))
    if op in ("startswith", "endswith"):
        return "y" if getattr(s, op)(arg) else "n"
    raise ValueError("unknown op " + op)


req = json.load(sys.stdin)
out = {
    "str": [str_op(c["op"], c["s"], c["arg"]) for c in req["str"]],
    "time": [datetime.datetime(*c["t"]).strftime(c["format"]) for c in req["time"]],
}
json.dump(out, sys.stdout, ensure_ascii=False)
