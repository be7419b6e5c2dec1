package app

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rlpipe/rlpipe/pipeline"
)

// configRangeExempt lists the numeric keys that take any value of their
// type (docs/config.md: "any" or "finite"); NaN and ±Inf are still refused
// for the float ones.
var configRangeExempt = []string{
	"seed", "sampling.seed", "policy.model.init_seed",
	"rollout.openai.max_retries", // negative: never retry
	"algorithm.loss.entropy_coef",
}

// configBadValues maps every other numeric key of the run configuration to
// values outside the range docs/config.md gives it.
var configBadValues = map[string][]string{
	"data.train_size": {"0", "-5"},
	"data.difficulty": {"-1", "6"},

	"policy.model.layers":            {"-1", "65"},
	"policy.model.d_model":           {"-8", "130"},
	"policy.model.heads":             {"-1", "3"},
	"policy.model.d_ff":              {"-1"},
	"policy.model.context":           {"1", "-4"},
	"policy.model.vocab":             {"100", "-1"},
	"policy.diffusion.canvas":        {"-1"},
	"policy.diffusion.gen.steps":     {"-1"},
	"policy.diffusion.gen.block_len": {"-1"},

	"sft.steps":             {"-1"},
	"sft.batch_size":        {"0"},
	"sft.lr":                {"0", "-0.1"},
	"sft.warmup_steps":      {"-1"},
	"sft.weight_decay":      {"-0.1"},
	"sft.clip_norm":         {"-1"},
	"sft.empty_trace_share": {"-0.1", "1.5"},
	"sft.examples":          {"0"},
	"sft.eval_every":        {"-1"},
	"sft.checkpoint_every":  {"-1"},

	"rollout.openai.concurrency":  {"-1"},
	"rollout.openai.timeout":      {"-1s"},
	"rollout.openai.backoff_base": {"-1s", "9s"},
	"rollout.openai.backoff_max":  {"-1s"},
	"rollout.g":                   {"0"},
	"rollout.temperature":         {"-1"},
	"rollout.top_p":               {"-0.5", "2"},
	"rollout.top_k":               {"-1"},
	"rollout.max_new_tokens":      {"0"},
	"rollout.workers":             {"0"},

	"reward.max_error_rate": {"-0.1", "1.5"},
	"reward.timeout":        {"-1s"},
	"reward.workers":        {"-1"},

	"sampling.vas.lambda":               {"-0.1", "1.5"},
	"sampling.vas.alpha":                {"-1"},
	"sampling.vas.beta":                 {"-1"},
	"sampling.vas.w_min":                {"-0.1", "1.5"},
	"sampling.vas.ema":                  {"-0.1", "1.5"},
	"sampling.vas.refresh_every":        {"-1"},
	"sampling.vas.refresh_samples":      {"-1"},
	"sampling.vas.history_len":          {"-1", "65537"},
	"sampling.filter.max_refill_rounds": {"-1"},

	"algorithm.advantage.eps":              {"-1"},
	"algorithm.loss.clip_low":              {"-0.1", "1"},
	"algorithm.loss.clip_high":             {"-0.1"},
	"algorithm.loss.dual_clip":             {"0.5", "-1"},
	"algorithm.loss.scale_factor":          {"-1"},
	"algorithm.loss.max_len":               {"-1"},
	"algorithm.loss.beta":                  {"-1"},
	"algorithm.kl_in_reward":               {"-1"},
	"algorithm.epochs":                     {"0"},
	"algorithm.mini_batches":               {"0"},
	"algorithm.micro_batch_size":           {"-1"},
	"algorithm.bvpo.alpha":                 {"-0.1", "1.5"},
	"algorithm.bvpo.beta_dpo":              {"0", "-1"},
	"algorithm.bvpo.micro_batches":         {"-1"},
	"algorithm.bvpo.smoothing":             {"-0.1", "1"},
	"algorithm.bvpo.bias_momentum":         {"-0.1", "1"},
	"algorithm.gdpo.clip_low":              {"-0.1", "1"},
	"algorithm.gdpo.clip_high":             {"-0.1"},
	"algorithm.gdpo.dual_clip":             {"0.5", "-1"},
	"algorithm.gdpo.beta":                  {"-1"},
	"algorithm.gdpo.elbo.draws":            {"-1"},
	"algorithm.gdpo.elbo.mask_min":         {"-1", "2"},
	"algorithm.gdpo.elbo.prompt_mask_prob": {"-0.1", "1"},

	"train.steps":            {"-1"},
	"train.prompts_per_step": {"0"},
	"train.lr":               {"0", "-1"},
	"train.weight_decay":     {"-0.1"},
	"train.clip_norm":        {"-1"},
	"train.warmup_steps":     {"-1"},
	"train.max_staleness":    {"-1", "2"},

	"checkpoint.every":     {"-1"},
	"checkpoint.keep_last": {"-1"},

	"eval.every":       {"-1"},
	"eval.n":           {"0"},
	"eval.samples":     {"-1"},
	"eval.temperature": {"-1"},

	"distributed.request_timeout": {"-1s"},
}

// namesKey reports whether an error message names the key path: in full,
// or as its section ("sampling.vas: ") followed by the key's last segment.
func namesKey(msg, path string) bool {
	if strings.Contains(msg, path) {
		return true
	}
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return false
	}
	section, rest, ok := strings.Cut(msg, path[:i]+": ")
	return ok && section != "" && strings.Contains(rest, path[i+1:])
}

// numericKey is a leaf of the run configuration holding a number.
type numericKey struct {
	path  string
	float bool
}

// numericKeys lists the numeric leaves of t by their yaml paths: ints,
// floats, durations, pointers to them and number-or-keyword fields.
func numericKeys(t reflect.Type, prefix string) []numericKey {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return []numericKey{{prefix, false}}
	case t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()):
		// A number-or-keyword leaf (config.OrAuto, learn.Alpha).
		if f, ok := t.FieldByName("Value"); ok {
			return numericKeys(f.Type, prefix)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return []numericKey{{prefix, true}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return []numericKey{{prefix, false}}
	case reflect.Struct:
		var out []numericKey
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "-" {
				continue
			}
			if tag == "" {
				tag = strings.ToLower(f.Name)
			}
			p := tag
			if strings.Contains(f.Tag.Get("yaml"), ",inline") {
				p = prefix
			} else if prefix != "" {
				p = prefix + "." + tag
			}
			out = append(out, numericKeys(f.Type, p)...)
		}
		return out
	}
	return nil // strings, bools, lists and maps hold no numeric key
}

func TestEveryNumericKeyIsRangeChecked(t *testing.T) {
	keys := numericKeys(reflect.TypeOf(pipeline.RunConfig{}), "")
	for _, k := range keys {
		bad, ok := configBadValues[k.path]
		if !ok && !slices.Contains(configRangeExempt, k.path) {
			t.Errorf("%s: numeric key without out-of-range values in configBadValues (or an entry in configRangeExempt)", k.path)
			continue
		}
		if k.float {
			bad = append(bad, ".nan", ".inf", "-.inf")
		}
		for _, v := range bad {
			t.Run(k.path+"="+v, func(t *testing.T) {
				_, stderr, code := cli(t, "config", "default", "--set", k.path+"="+v)
				if code != 2 || !namesKey(stderr, k.path) {
					t.Errorf("exit %d, stderr %q; want 2 naming %s", code, strings.TrimSpace(stderr), k.path)
				}
			})
		}
	}
	for k := range configBadValues {
		if !slices.ContainsFunc(keys, func(n numericKey) bool { return n.path == k }) {
			t.Errorf("configBadValues names %s, which is not a numeric key", k)
		}
	}
}

func TestRunRefusesBadNumbersBeforeStarting(t *testing.T) {
	cases := []struct {
		name, key string
		args      []string
	}{
		{"a negative temperature", "rollout.temperature", []string{"--set", "rollout.temperature=-1"}},
		{"a top_p above 1", "rollout.top_p", []string{"--set", "rollout.top_p=2"}},
		{"a negative top_k", "rollout.top_k", []string{"--set", "rollout.top_k=-1"}},
		{"a negative clip norm", "train.clip_norm", []string{"--set", "train.clip_norm=-1"}},
		{"a YAML .nan", "sft.lr", []string{"--config", writeConfig(t, "sft: {lr: .nan}\n")}},
		{"a YAML .inf", "algorithm.loss.entropy_coef", []string{"--config", writeConfig(t, "algorithm:\n  loss:\n    entropy_coef: .inf\n")}},
		{"a YAML -.inf in a list of parts", "reward.parts.0.weight", []string{"--config", writeConfig(t, "reward:\n  parts:\n    - {name: math, weight: -.inf}\n")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"run", "--out", out}, tc.args...)
			_, stderr, code := cli(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.key) {
				t.Fatalf("exit %d, stderr %q; want 2 naming %s", code, stderr, tc.key)
			}
			if strings.Contains(stderr, "json:") {
				t.Fatalf("the error leaks an encoder message: %s", stderr)
			}
		})
	}
}
