package report

// line is one plotted series of a panel.
type line struct {
	label string
	get   getter
}

// panel is one plot in a figure. A panel none of whose series has a point
// is dropped; a figure left without panels is skipped.
type panel struct {
	title, ylabel string
	lines         []line
	// dynamic adds series whose names come from the data (reward parts).
	dynamic func(*runData) []line
	// band draws mean ± std as a shaded region under the first line.
	band *line
	// withEval adds held-out accuracy with stderr error bars per split/mode.
	withEval bool
	// unit pins the y axis to include [0, 1] (fractions and accuracies);
	// zero only to include 0 (non-negative quantities: counts, times).
	unit, zero bool
}

// figure is one PNG file: panels stacked vertically, sharing the step axis.
type figure struct {
	file   string
	panels []panel
}

// sampler keys: pipeline writes sampling.Stats.Metrics() ("sampling/…"),
// and a struct-shaped sampler object uses the Go field names.
var (
	samplerVPS = firstOf(key("sampler", "sampling/mean_vps_picked"), key("sampler", "MeanVPSPicked"))
	samplerWS  = firstOf(key("sampler", "sampling/weighted_share"), key("sampler", "WeightedShare"),
		ratio(key("sampler", "PickedWeighted"), key("sampler", "Picked")))
)

// figures lists every plot of a report, in the order they are written.
var figures = []figure{
	{"reward.png", []panel{
		{title: "Train reward (mean ± 1 std over rollouts)", ylabel: "reward",
			lines: []line{{"mean", key("reward_mean")}}, band: &line{"± 1 std", key("reward_std")}},
		{title: "Reward parts (mean, before weighting)", ylabel: "reward part",
			dynamic: func(d *runData) []line { return subLines(d, "reward_parts", "") }},
	}},
	{"accuracy.png", []panel{
		{title: "Accuracy: train rollouts and held-out eval (± stderr)", ylabel: "accuracy", unit: true,
			lines: []line{{"train", key("accuracy")}}, withEval: true,
			dynamic: func(d *runData) []line { return subLines(d, "accuracy_by_mode", "train ") }},
	}},
	{"kl.png", []panel{
		{title: "KL divergence to the reference policy", ylabel: "KL (nats/token)",
			lines: []line{{"kl", key("kl")}, {"approx kl", key("approx_kl")}}},
	}},
	{"loss.png", []panel{
		{title: "Loss", ylabel: "loss", lines: []line{{"loss", key("loss")}, {"pg loss", key("pg_loss")}}},
		{title: "Advantage", ylabel: "advantage",
			lines: []line{{"mean", key("advantage_mean")}, {"std", key("advantage_std")}}},
	}},
	{"length.png", []panel{
		{title: "Response length", ylabel: "tokens", zero: true,
			lines: []line{{"mean", key("response_length_mean")}, {"max", key("response_length_max")}}},
		{title: "Truncation rate (finish_reason = length)", ylabel: "fraction", unit: true,
			lines: []line{{"truncation rate", key("truncation_rate")}}},
	}},
	{"clip.png", []panel{
		{title: "Clipped token fractions", ylabel: "fraction", zero: true,
			lines: []line{{"low", key("clip_frac_low")}, {"high", key("clip_frac_high")}, {"dual", key("clip_frac_dual")}}},
		{title: "Importance ratio", ylabel: "ratio",
			lines: []line{{"mean", key("ratio_mean")}, {"max", key("ratio_max")}}},
	}},
	{"optim.png", []panel{
		{title: "Gradient norm (before clipping)", ylabel: "L2 norm", zero: true, lines: []line{{"grad norm", key("grad_norm")}}},
		{title: "Learning rate", ylabel: "lr", zero: true, lines: []line{{"lr", key("lr")}}},
	}},
	{"groups.png", []panel{
		{title: "Groups with zero reward std", ylabel: "fraction", unit: true,
			lines: []line{{"zero-std groups", key("zero_std_group_frac")}}},
		{title: "Groups and errors per step", ylabel: "count", zero: true,
			lines: []line{{"dropped groups", key("dropped_groups")}, {"filtered groups", key("filtered_groups")},
				{"reward errors", key("reward_errors")}}},
	}},
	{"stages.png", []panel{
		{title: "Stage busy time per step", ylabel: "seconds", zero: true,
			lines: []line{{"rollout", stageGetters[0].get}, {"reward", stageGetters[1].get}, {"learner", stageGetters[2].get}}},
		{title: "Throughput", ylabel: "tokens/s", zero: true, lines: []line{{"tokens/s", key("timing", "tokens_per_s")}}},
	}},
	{"sampler.png", []panel{
		{title: "Sampler: mean VPS of picked prompts", ylabel: "VPS", lines: []line{{"mean VPS picked", samplerVPS}}},
		{title: "Sampler: share of picks drawn by weight", ylabel: "fraction", unit: true,
			lines: []line{{"weighted share", samplerWS}}},
	}},
}

// subLines returns one series per numeric key of the object at obj.
func subLines(d *runData, obj, prefix string) []line {
	var ls []line
	for _, k := range d.subkeys(obj) {
		ls = append(ls, line{prefix + k, key(obj, k)})
	}
	return ls
}

// FigureFiles returns the names of the PNG files a report can contain, in
// the order Generate writes them. It allocates a new slice on each call.
func FigureFiles() []string {
	out := make([]string, len(figures))
	for i, f := range figures {
		out[i] = f.file
	}
	return out
}
