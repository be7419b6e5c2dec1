# Plain-torch reference for policy's Llama-family decoder
# (TestLlamaMatchesTorchReference). Written from the math of Hugging Face
# transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 (no
# transformers import: Debian's python3-torch has none):
#   RMSNorm: x * rsqrt(mean(x^2) + eps), times the weight;
#   RoPE: inv_freq = 1 / theta^(arange(0, dh, 2)/dh) in float32, llama3
#     frequency scaling as _compute_llama3_parameters, cos/sin of
#     cat(freqs, freqs) in float32, rotate_half pairs (i, i + dh/2);
#   attention: causal softmax(q k^T / sqrt(dh)) v, key/value head h // (H/KV)
#     (repeat_kv); Qwen3 RMS-normalises q and k per head before RoPE;
#     biases: Llama q/k/v/o when attention_bias, Qwen2 q/k/v always,
#     Qwen3 q/k/v when attention_bias;
#   MLP: down(silu(gate(x)) * up(x)); lm_head tied to the embedding when
#     tie_word_embeddings.
# The model runs in float64 (weights read as float32) on each sequence
# alone, unpadded, positions 0..n-1.
#
# Usage: llama_ref.py DIR   reads DIR/config.json, DIR/model.safetensors
# (parsed by hand: 8-byte little-endian header length, JSON header, raw
# F32 data) and DIR/input.json {"sequences": [[...]], "prompt_lens": [...],
# "weights": [[...]]}; writes DIR/output.json {"logits": [per sequence,
# per position, vocab], "loss": x, "grads": {name: flat list}} where
# loss = sum_ij weights[i][j] * log_softmax(logits_i[p_i - 1 + j])[token].
import json
import math
import struct
import sys

import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(blob[8 + n + lo : 8 + n + hi]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def inv_freq(cfg, dh):
    f = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, dh, 2, dtype=torch.int64).float() / dh))
    rs = cfg.get("rope_scaling")
    if rs is None or rs.get("rope_type", rs.get("type")) == "default":
        return f
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wl, high_wl = old / lo, old / hi
    wl = 2 * math.pi / f
    g = torch.where(wl > low_wl, f / factor, f)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * g / factor + smooth * g
    medium = ~(wl < high_wl) * ~(wl > low_wl)
    return torch.where(medium, smoothed, g)


def rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, W, tokens):
    arch = cfg["architectures"][0]
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    dh = cfg.get("head_dim") or d // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    bias = cfg.get("attention_bias", False)
    qkv_bias, o_bias = arch == "Qwen2ForCausalLM" or bias, arch == "LlamaForCausalLM" and bias
    n = len(tokens)
    pos = torch.arange(n, dtype=torch.float32)
    freqs = pos[:, None] * inv_freq(cfg, dh)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().double(), emb.sin().double()
    mask = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)

    def lin(x, name, has_bias):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if has_bias else y

    x = W["model.embed_tokens.weight"][torch.tensor(tokens)]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rms(x, W[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj", qkv_bias).view(n, H, dh)
        k = lin(h, p + "self_attn.k_proj", qkv_bias).view(n, KV, dh)
        v = lin(h, p + "self_attn.v_proj", qkv_bias).view(n, KV, dh)
        if arch == "Qwen3ForCausalLM":
            q = rms(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rms(k, W[p + "self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)
        v = v.repeat_interleave(H // KV, dim=0)
        s = q @ k.transpose(1, 2) / math.sqrt(dh) + mask
        a = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(n, H * dh)
        x = x + lin(a, p + "self_attn.o_proj", o_bias)
        h = rms(x, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(h, p + "mlp.gate_proj", False))
        x = x + lin(g * lin(h, p + "mlp.up_proj", False), p + "mlp.down_proj", False)
    h = rms(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else W["lm_head.weight"]
    return h @ head.T


def main(d):
    cfg = json.load(open(d + "/config.json"))
    inp = json.load(open(d + "/input.json"))
    W = {k: v.double().requires_grad_(True) for k, v in read_safetensors(d + "/model.safetensors").items()}
    loss = torch.zeros((), dtype=torch.float64)
    all_logits = []
    for seq, plen, wts in zip(inp["sequences"], inp["prompt_lens"], inp["weights"]):
        logits = forward(cfg, W, seq)
        all_logits.append(logits.detach().tolist())
        lp = torch.log_softmax(logits, dim=-1)
        for j, c in enumerate(wts):
            loss = loss + c * lp[plen - 1 + j, seq[plen + j]]
    loss.backward()
    out = {"logits": all_logits, "loss": loss.item(), "grads": {k: v.grad.flatten().tolist() for k, v in W.items()}}
    json.dump(out, open(d + "/output.json", "w"))


if __name__ == "__main__":
    main(sys.argv[1])
