#!/usr/bin/env bash
# run.sh runs rlpipe's default job (`rlpipe run`, the README's headline) once
# per seed and prints each seed's held-out accuracy before and after RL and
# the mean gain ± its standard error across seeds — the README's seed table.
#
# usage: examples/default_seeds/run.sh [WORKDIR]     (run from the repo root)
#   RLPIPE   the rlpipe binary (default: rlpipe; build with `make build` and
#            pass bin/rlpipe for the build whose figures you want)
#   SEEDS    seeds to run (default "1 2 3")
#   EXTRA_SET more --set flags for every run, e.g. "--set train.lr=5e-5"
# A seed whose run finished (its output has the held-out line) is skipped,
# so the script can be re-run after an interruption.
set -euo pipefail

work="${1:-runs/default_seeds}"
rlpipe="${RLPIPE:-rlpipe}"
seeds="${SEEDS:-1 2 3}"
extra=(${EXTRA_SET:-})
mkdir -p "$work"

for seed in $seeds; do
	out="$work/seed$seed"
	if grep -q "held-out accuracy (trace, n=" "$out.out" 2>/dev/null; then
		echo "skip seed $seed (done)" >&2
		continue
	fi
	rm -rf "$out"
	echo "seed $seed -> $out" >&2
	t0=$(date +%s)
	"$rlpipe" run --out "$out" --set seed="$seed" --set log.progress=false "${extra[@]}" >"$out.out" 2>"$out.log"
	echo "  $(grep 'held-out accuracy (trace, n=' "$out.out") ($(( $(date +%s) - t0 )) s)" >&2
done

# The held-out line reads "… 48.0% ± 2.5 → 63.5% ± 2.4 (+15.5 ± 2.2 points, paired)".
for seed in $seeds; do
	printf '%s ' "$seed"
	grep 'held-out accuracy (trace, n=' "$work/seed$seed.out" |
		sed -E 's/.*: ([0-9.]+)% ± [0-9.]+ → ([0-9.]+)% ± [0-9.]+ \(([-+][0-9.]+) ± ([0-9.]+) points.*/\1 \2 \3 \4/'
done | awk '
	BEGIN { print "| seed | before RL (%) | after RL (%) | gain (points, paired ± se) |"; print "|---|---|---|---|" }
	{ printf "| %s | %.1f | %.1f | %+.1f ± %.1f |\n", $1, $2, $3, $4, $5; g[NR] = $4; s += $4 }
	END {
		n = NR; m = s / n; v = 0
		for (i = 1; i <= n; i++) v += (g[i] - m) ^ 2
		se = n > 1 ? sqrt(v / (n - 1) / n) : 0
		printf "\nmean gain over %d seeds: %+.1f ± %.1f points (standard error across seeds)\n", n, m, se
	}'
