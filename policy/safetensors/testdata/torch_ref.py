"""Reference side of the safetensors tests; run by torch_test.go.

Uses only torch and the standard library (the `safetensors` package is not
installed): safetensors bytes are assembled by hand from the format spec
(8-byte little-endian header length, JSON header, raw little-endian data).

  torch_ref.py gen OUT    writes, with torch's own tensors and conversions,
      OUT/single.safetensors         BF16/F16/F32/F64/I64 tensors in one file
      OUT/sharded/                   model-0000{1,2}-of-00002 + index.json
      OUT/expected.json              {name: [uint32 bits of torch's .float()]}
  torch_ref.py check DIR  reads the Go writer's checkpoints under DIR
      (DIR/inputs.json holds the float32 bits the Go test wrote; DIR/<case>/
      one checkpoint per case) the same raw way and checks every value equals
      torch's own conversion, bit for bit (any NaN matches any NaN).
"""
import array
import json
import math
import os
import re
import struct
import sys

import torch

assert sys.byteorder == "little"

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64, "I64": torch.int64}
WIDTH = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).numpy().tobytes()  # numpy lacks bf16
    return t.numpy().tobytes()


def dtype_name(t):
    return [k for k, v in DTYPES.items() if v == t.dtype][0]


def write_file(path, tensors, metadata):
    """tensors: list of (name, tensor) in data order; the header lists them
    in reverse so a reader cannot rely on header order."""
    header, data, off = {}, [], 0
    for name, t in tensors:
        b = raw_bytes(t)
        header[name] = {"dtype": dtype_name(t), "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        data.append(b)
        off += len(b)
    ordered = {"__metadata__": metadata}
    for name, _ in reversed(tensors):
        ordered[name] = header[name]
    h = json.dumps(ordered, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(data))


def bits_of(t):
    """uint32 bit patterns of float32 tensor t, row-major."""
    return [b & 0xFFFFFFFF for b in t.contiguous().view(torch.int32).flatten().tolist()]


def from_bytes(b, dtype):
    """A 1-D tensor of dtype over the little-endian bytes b (may be empty)."""
    if not b:
        return torch.zeros(0, dtype=dtype)
    return torch.frombuffer(bytearray(b), dtype=dtype)


def from_bits(bits, dtype):
    """float32 bit patterns as a tensor of dtype (float32 or int32)."""
    return from_bytes(array.array("I", bits).tobytes(), torch.int32).view(dtype)


def all16(dtype):
    """Every 16-bit pattern as a tensor of dtype: all subnormals, both
    zeros, both infinities, every NaN payload, the largest finite values."""
    return torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(dtype)


F32_SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, -1e-45, 1.17e-38,
               3.4028234663852886e38, -3.4028234663852886e38, 65504.0, 65520.0, 1.0 / 3]
F64_SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-300, -5e-324, 1e39, -1e39,
               3.4028235677973366e38,  # above float32 max, rounds to inf
               3.4028234663852886e38, 1.0 + 2.0 ** -24,  # a tie, rounds to even
               1.0 + 3 * 2.0 ** -24, 1.401298464324817e-45 * 0.5, 0.1]


def gen(out):
    g = torch.Generator().manual_seed(1234)
    f32 = torch.cat([torch.randn(3 * 5 * 7 - len(F32_SPECIAL), generator=g),
                     torch.tensor(F32_SPECIAL, dtype=torch.float32)]).reshape(3, 5, 7)
    tensors = [
        ("model.embed_tokens.weight", (torch.randn(6, 4, generator=g) * 3).to(torch.bfloat16)),
        ("bf16.all_patterns", all16(torch.bfloat16).reshape(256, 256)),
        ("f16.all_patterns", all16(torch.float16).reshape(65536)),
        ("layers.0.mlp.weight", (torch.randn(5, 3, generator=g) * 100).to(torch.float16)),
        ("f32.mixed", f32),
        ("f64.mixed", torch.tensor(F64_SPECIAL, dtype=torch.float64)),
        ("scalar.bf16", torch.tensor(-2.5, dtype=torch.bfloat16)),
        ("empty.f16", torch.zeros(0, 3, dtype=torch.float16)),
        ("position_ids", torch.arange(7, dtype=torch.int64).reshape(1, 7)),
    ]
    write_file(os.path.join(out, "single.safetensors"), tensors,
               {"format": "pt", "source": "torch_ref.py"})
    expected = {n: bits_of(t.float()) for n, t in tensors if t.dtype != torch.int64}

    shard_dir = os.path.join(out, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    shards = [tensors[:4], tensors[4:]]
    weight_map, total = {}, 0
    for i, part in enumerate(shards):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        write_file(os.path.join(shard_dir, name), part, {"format": "pt"})
        for n, t in part:
            weight_map[n] = name
            total += len(raw_bytes(t))
    with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
                  f, indent=2, sort_keys=True)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


def fail(msg):
    sys.exit("torch_ref.py check: " + msg)


def read_file(path):
    """Parses a safetensors file by the spec; returns (metadata, {name:
    (dtype, shape, bytes)}, names in data order, data bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        fail("%s: header length %d is not a multiple of 8" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    data = raw[8 + n:]
    order = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    off, out = 0, {}
    for name in order:
        e = header[name]
        b, end = e["data_offsets"]
        numel = math.prod(e["shape"])
        if b != off or end - b != numel * WIDTH[e["dtype"]]:
            fail("%s: tensor %s: data_offsets %s do not follow %d contiguously" % (path, name, e["data_offsets"], off))
        out[name] = (e["dtype"], e["shape"], data[b:end])
        off = end
    if off != len(data):
        fail("%s: %d data bytes, tensors end at %d" % (path, len(data), off))
    return meta, out, order, len(data)


def same_bits(got, want, what):
    """got, want: tensors of one dtype; NaN matches NaN, all else bit-exact."""
    ints = torch.int16 if got.element_size() == 2 else torch.int32
    gi, wi = got.view(ints), want.view(ints)
    nan_both = torch.isnan(got.float()) & torch.isnan(want.float())
    bad = ((gi != wi) & ~nan_both).nonzero().flatten().tolist()
    if bad:
        i = bad[0]
        fail("%s: %d values differ from torch; first at %d: got %#x want %#x"
             % (what, len(bad), i, gi[i].item() & 0xFFFF_FFFF, wi[i].item() & 0xFFFF_FFFF))


def check_case(root, case, spec, inputs):
    d = os.path.join(root, case)
    index = os.path.join(d, "model.safetensors.index.json")
    if spec["sharded"]:
        with open(index) as f:
            text = f.read()
        idx = json.loads(text)
        # save_pretrained's own serialisation of the index.
        if text != json.dumps(idx, indent=2, sort_keys=True) + "\n":
            fail("%s: index is not json.dumps(indent=2, sort_keys=True) + newline:\n%s" % (case, text))
        files = sorted(set(idx["weight_map"].values()))
        n = len(files)
        if n < 2 or files != ["model-%05d-of-%05d.safetensors" % (i + 1, n) for i in range(n)]:
            fail("%s: shard names %s" % (case, files))
        if os.path.exists(os.path.join(d, "model.safetensors")):
            fail("%s: a sharded checkpoint also has model.safetensors" % case)
    else:
        if os.path.exists(index):
            fail("%s: single-file checkpoint has an index" % case)
        files, idx = ["model.safetensors"], None
    seen, total = {}, 0
    for fname in files:
        meta, tensors, order, size = read_file(os.path.join(d, fname))
        total += size
        want_meta = dict(inputs["metadata"], format="pt")
        if meta != want_meta:
            fail("%s/%s: __metadata__ %s, want %s" % (case, fname, meta, want_meta))
        if order != sorted(order):
            fail("%s/%s: tensors not in name order: %s" % (case, fname, order))
        for name, (dtype, shape, b) in tensors.items():
            if name in seen:
                fail("%s: tensor %s in two files" % (case, name))
            if idx and idx["weight_map"].get(name) != fname:
                fail("%s: tensor %s is in %s, weight_map says %s" % (case, name, fname, idx["weight_map"].get(name)))
            seen[name] = True
            if dtype != spec["dtype"]:
                fail("%s: tensor %s has dtype %s, want %s" % (case, name, dtype, spec["dtype"]))
            src = inputs["tensors"][name]
            if shape != src["shape"]:
                fail("%s: tensor %s shape %s, want %s" % (case, name, shape, src["shape"]))
            want = from_bits(src["bits"], torch.float32).to(DTYPES[dtype])
            got = from_bytes(b, DTYPES[dtype])
            same_bits(got, want, "%s: tensor %s" % (case, name))
    if set(seen) != set(inputs["tensors"]):
        fail("%s: tensors %s, want %s" % (case, sorted(seen), sorted(inputs["tensors"])))
    if idx and idx["metadata"] != {"total_size": total}:
        fail("%s: index metadata %s, want total_size %d" % (case, idx["metadata"], total))
    return len(files)


def check(root):
    with open(os.path.join(root, "inputs.json")) as f:
        inputs = json.load(f)
    for case, spec in sorted(inputs["cases"].items()):
        n = check_case(root, case, spec, inputs)
        print("ok %s: %d tensors in %d file(s), %s" % (case, len(inputs["tensors"]), n, spec["dtype"]))


if __name__ == "__main__":
    {"gen": gen, "check": check}[sys.argv[1]](sys.argv[2])
