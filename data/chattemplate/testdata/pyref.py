"""Python reference for the parts of a chat template that transformers
evaluates with Python itself: str methods (Jinja2 calls them directly, and
its |trim filter is str.strip) datetime.strftime (strftime_now) and the |tojson filter, which
transformers defines as json.dumps(x, ensure_ascii=False, indent=indent,
separators=separators, sort_keys=sort_keys).

stdin:  {"str": [{"op": "strip", "s": "...", "arg": "..." | null}, ...],
         "time": [{"t": [Y, M, D, h, m, s, us], "format": "..."}, ...],
         "json": [{"v": any, "indent": n | null}, ...]}
stdout: {"str": [...], "time": [...], "json": [...]}
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
    "json": [json.dumps(c["v"], ensure_ascii=False, indent=c["indent"]) for c in req["json"]],
}
json.dump(out, sys.stdout, ensure_ascii=False)
