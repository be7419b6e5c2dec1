#!/usr/bin/env bash
# run.sh compares Variance-Aware Sampling (sampling.kind=vas) with uniform
# prompt sampling: one shared SFT warm start, then one RL run per
# (kind, seed), all evaluated on the same fixed held-out set, summarised as a
# table by summarize/main.go. See README.md for the knobs and a measured
# table.
#
# usage: examples/vas_vs_uniform/run.sh [WORKDIR]     (run from the repo root)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-runs/vas_vs_uniform}"
rlpipe="${RLPIPE:-rlpipe}"          # the rlpipe binary (e.g. built with go build -o)
steps="${STEPS:-60}"                # RL steps per run
lr="${LR:-1e-5}"                    # train.lr of every run (the measurement's; rlpipe's default is now 2e-5)
eval_every="${EVAL_EVERY:-10}"      # held-out evaluation every this many steps
difficulties="${DIFFICULTIES:-1 2 3}" # arithmetic difficulties mixed in the pool and the held-out set
pool_per="${POOL_PER:-200}"         # training prompts per difficulty
eval_per="${EVAL_PER:-134}"         # held-out problems per difficulty
seeds="${SEEDS:-1 2 3}"             # run seeds (keys rollouts, sampler and training prompts)
kinds="${KINDS:-uniform vas vas_full}" # uniform, vas (incremental statistics) or vas_full (MMR1's full refresh)
refresh_every="${REFRESH_EVERY:-35}"   # vas_full: sampling.vas.refresh_every
refresh_samples="${REFRESH_SAMPLES:-4}" # vas_full: sampling.vas.refresh_samples
threshold="${THRESHOLD:-0.50}"      # accuracy for the steps-to-threshold column
extra=(${EXTRA_SET:-})              # more --set overrides for every command, e.g. "--set sft.steps=200"

mkdir -p "$work"
work="$(cd "$work" && pwd)"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
start=$(date +%s)

# 1. One SFT warm start shared by every run, so that the runs differ only in
#    the sampler and the seed.
if [[ ! -f "$work/sft/model.safetensors" ]]; then
	log "sft -> $work/sft"
	"$rlpipe" sft --out "$work/sft" --set log.progress=false "${extra[@]}" >"$work/sft.out" 2>"$work/sft.log" ||
		{ log "sft failed; see $work/sft.log"; exit 1; }
	cat "$work/sft.out" >&2
fi

# 2. A training pool and a held-out set mixing the difficulties, so that the
#    pass rate P differs between prompts (the case VAS is for); fixed files,
#    so that every run sees the same prompts.
pool="$work/pool.jsonl" heldout="$work/heldout.jsonl"
if [[ ! -f "$heldout" ]]; then
	: >"$pool.tmp"; : >"$heldout.tmp"
	for d in $difficulties; do
		"$rlpipe" data export --task arithmetic --split train --difficulty "$d" --n "$pool_per" --seed 11 --out "$work/pool-d$d.jsonl" 2>/dev/null
		"$rlpipe" data export --task arithmetic --split test --difficulty "$d" --n "$eval_per" --seed 12 --out "$work/heldout-d$d.jsonl" 2>/dev/null
		cat "$work/pool-d$d.jsonl" >>"$pool.tmp"; cat "$work/heldout-d$d.jsonl" >>"$heldout.tmp"
	done
	# Easy problems recur across difficulties (e.g. 15+0=); keep each
	# prompt id once, as rlpipe requires.
	dedupe() { awk -F'"prompt_id":' '{ split($2, id, ","); if (!seen[id[1]]++) print }' "$1"; }
	dedupe "$pool.tmp" >"$pool"; dedupe "$heldout.tmp" >"$heldout"; rm "$pool.tmp" "$heldout.tmp"
fi
pool_n=$(wc -l <"$pool") eval_n=$(wc -l <"$heldout")
for kind in $kinds; do
	case "$kind" in uniform | vas | vas_full) ;; *) log "unknown kind $kind (want uniform, vas or vas_full)"; exit 2 ;; esac
done

# kind_sets prints the --set flags of a kind.
kind_sets() {
	case "$1" in
	uniform | vas) echo "--set sampling.kind=$1" ;;
	vas_full) echo "--set sampling.kind=vas --set sampling.vas.refresh=full --set sampling.vas.refresh_every=$refresh_every --set sampling.vas.refresh_samples=$refresh_samples" ;;
	esac
}

# 3. One RL run per (kind, seed); a finished run (its final checkpoint
#    exists) is skipped, so the script can be re-run after an interruption.
for seed in $seeds; do
	for kind in $kinds; do
		out="$work/$kind-seed$seed"
		if [[ -f "$out/checkpoints/latest" ]] && grep -q "step-$(printf '%06d' "$steps")" "$out/checkpoints/latest"; then
			log "skip $out (done)"
			continue
		fi
		rm -rf "$out"
		log "run $kind seed $seed -> $out"
		t0=$(date +%s)
		"$rlpipe" run --out "$out" \
			--set policy.init="$work/sft" $(kind_sets "$kind") --set seed="$seed" \
			--set train.steps="$steps" --set train.lr="$lr" --set eval.every="$eval_every" --set eval.n="$eval_n" \
			--set data.train="$pool" --set data.train_size="$pool_n" \
			--set data.eval="$heldout" --set checkpoint.every=0 --set checkpoint.keep_last=1 \
			--set log.progress=false "${extra[@]}" >"$out.out" 2>"$out.log" ||
			{ log "  failed; see $out.log"; exit 1; }
		log "  $(tail -n 1 "$out.out") ($(( $(date +%s) - t0 ))s)"
	done
done
log "all runs done in $(( $(date +%s) - start ))s"

# 4. The table.
dirs=()
for kind in $kinds; do for seed in $seeds; do dirs+=("$kind=$work/$kind-seed$seed"); done; done
(cd "$here/../.." && go run ./examples/vas_vs_uniform/summarize -threshold "$threshold" "${dirs[@]}")
