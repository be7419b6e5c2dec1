package curate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// Options say where a curation writes.
type Options struct {
	// Out is the Parquet file written at the end; its sidecar is
	// Out + SidecarSuffix.
	Out string
	// Log receives progress: a bar when it is a terminal, otherwise a line
	// every LogEvery (default DefaultLogEvery). nil discards it.
	Log      io.Writer
	LogEvery time.Duration
	// Allocator builds the output batches (default memory.DefaultAllocator).
	Allocator memory.Allocator
}

// Result summarises a curation.
type Result struct {
	// Rows is the number of dataset rows curated; Written those in the
	// output after the pass-rate filter.
	Rows, Written int
	// Resumed rows came from an earlier run's sidecar; Generated were
	// rolled out now, with Samples rollouts, RewardErrors of which failed
	// to score (counted as incorrect).
	Resumed, Generated, Samples, RewardErrors int
	// MeanPassRate is the mean pass rate over all curated rows.
	MeanPassRate float64
	// Elapsed is the wall time of the rollouts and scoring of this call.
	Elapsed time.Duration
}

// Run curates cfg.Dataset with src and writes opts.Out (see the package
// doc). A sidecar left by an earlier run with the same settings and model
// is continued. It returns ErrIncomplete, without writing opts.Out, when
// some prompts got no samples. Run is not safe to call twice at once on the
// same Out.
func Run(ctx context.Context, cfg Config, src *Source, opts Options) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if opts.Out == "" {
		return nil, fmt.Errorf("%w: no output path", ErrConfig)
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.LogEvery == 0 {
		opts.LogEvery = DefaultLogEvery
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	prompts, err := loadPrompts(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tmpl, _ := data.TemplateByName(cfg.Template)
	if err := checkContext(cfg, src, tmpl, prompts); err != nil {
		return nil, err
	}
	side, done, err := openSidecar(opts.Out+SidecarSuffix, Header{Version: sidecarVersion, Model: src.Model, Config: cfg})
	if err != nil {
		return nil, err
	}
	defer side.close()
	var pending []int
	for i, p := range prompts {
		st, ok := done[int64(i)]
		if !ok {
			pending = append(pending, i)
		} else if st.PromptID != p.ID {
			return nil, fmt.Errorf("%w: %s row %d has prompt id %d, but the sidecar recorded %d: the dataset changed",
				ErrResume, cfg.Dataset, i, p.ID, st.PromptID)
		}
	}
	res := &Result{Rows: len(prompts), Resumed: len(prompts) - len(pending)}
	if len(pending) > 0 {
		if err := rolloutPending(ctx, cfg, src, prompts, pending, side, done, res, opts); err != nil {
			return res, err
		}
	}
	return res, finish(cfg, opts, src.Model, prompts, done, res)
}

// rolloutPending rolls out, scores and records the pending prompts batch by
// batch.
func rolloutPending(ctx context.Context, cfg Config, src *Source, prompts []data.Prompt, pending []int,
	side *sidecar, done map[int64]Stats, res *Result, opts Options) error {
	scorer, err := reward.NewScorer(reward.Config{Spec: cfg.Reward, OnError: reward.OnErrorZero, MaxErrorRate: 1})
	if err != nil {
		return fmt.Errorf("curate: reward: %w", err)
	}
	defer scorer.Close()
	start := time.Now()
	defer func() { res.Elapsed = time.Since(start) }()
	rep := newReporter(opts.Log, len(prompts), res.Resumed, opts.LogEvery)
	defer rep.finish()
	missing := 0
	for lo := 0; lo < len(pending); lo += cfg.Batch {
		idx := pending[lo:min(lo+cfg.Batch, len(pending))]
		batch := make([]data.Prompt, len(idx))
		for i, k := range idx {
			batch[i] = prompts[k]
		}
		stats, errs, samples, err := curateBatch(ctx, cfg, src.Generator, scorer, batch, idx)
		if err != nil {
			return err
		}
		res.Samples += samples
		res.RewardErrors += errs
		var got []Stats
		for _, st := range stats {
			if st.Samples == 0 {
				missing++
				continue
			}
			got = append(got, st)
			done[st.Index] = st
		}
		if err := side.append(got); err != nil {
			return err
		}
		res.Generated += len(got)
		rep.update(res.Resumed + res.Generated)
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d of %d prompts; rerun the same command to retry them", ErrIncomplete, missing, len(pending))
	}
	return nil
}

// curateBatch rolls out and scores one batch of prompts (dataset rows idx)
// and returns their statistics in order, the reward error count and the
// number of rollouts.
func curateBatch(ctx context.Context, cfg Config, gen Generator, scorer *reward.Scorer, batch []data.Prompt, idx []int) ([]Stats, int, int, error) {
	rows, err := generate(ctx, cfg, gen, batch)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]reward.Result, len(rows))
	groups := groupRows(batch, rows, cfg.Samples)
	counts, err := scorer.ScoreGroups(ctx, reward.RolloutRows(rows), groups, out)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("curate: scoring: %w", err)
	}
	bytesTok := tokenizer.New()
	correct := make([][]bool, len(batch))
	tokens := make([][][]int32, len(batch))
	for i, g := range groups {
		correct[g] = append(correct[g], out[i].OK() && out[i].Reward > 0.5)
		t := rows[i].CompletionTokens
		if t == nil {
			t = bytesTok.Encode(rows[i].Completion)
		}
		tokens[g] = append(tokens[g], t)
	}
	stats := make([]Stats, len(batch))
	for j, p := range batch {
		stats[j] = groupStats(int64(idx[j]), p.ID, correct[j], tokens[j])
	}
	return stats, counts.Errors, len(rows), nil
}

// generate rolls out batch with up to cfg.Workers concurrent calls, each on
// a contiguous share of the prompts, and concatenates the rows in order.
// Every draw is keyed by (seed, prompt id, sample), so the split changes
// nothing but speed.
func generate(ctx context.Context, cfg Config, gen Generator, batch []data.Prompt) ([]data.Rollout, error) {
	w := min(cfg.Workers, len(batch))
	parts := make([][]data.Rollout, w)
	errs := make([]error, w)
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*len(batch)/w, (k+1)*len(batch)/w
		wg.Go(func() {
			parts[k], errs[k] = gen.Generate(ctx, rollout.Request{Prompts: batch[lo:hi], G: cfg.Samples, Seed: cfg.Seed,
				Params: data.GenParams{Temperature: cfg.Temperature, TopP: cfg.TopP, MaxNewTokens: cfg.MaxNewTokens}})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("curate: rollout: %w", err)
	}
	var rows []data.Rollout
	for _, p := range parts {
		rows = append(rows, p...)
	}
	return rows, nil
}

// groupRows maps each rollout to its prompt's position in batch. Rows come
// ordered by prompt, with at most g per prompt (fewer when samples were
// lost), so walking both in step also separates equal prompt ids (unless
// samples of the first of two equal neighbours were lost).
func groupRows(batch []data.Prompt, rows []data.Rollout, g int) []int {
	groups := make([]int, len(rows))
	j, n := 0, 0
	for i, r := range rows {
		for j < len(batch) && (batch[j].ID != r.PromptID || n == g) {
			j, n = j+1, 0
		}
		if j == len(batch) {
			panic(fmt.Sprintf("curate: rollout %d (prompt %d) does not follow the batch order", i, r.PromptID))
		}
		groups[i] = j
		n++
	}
	return groups
}

// finish writes the Parquet file from the recorded statistics.
func finish(cfg Config, opts Options, model string, prompts []data.Prompt, done map[int64]Stats, res *Result) error {
	split := ""
	if _, s, ok := strings.Cut(cfg.Dataset, ":"); ok && !strings.ContainsAny(cfg.Dataset, `/\`) {
		split = s
	}
	rows := make([]Row, 0, len(prompts))
	kept, stats := make([]bool, len(prompts)), make([]Stats, len(prompts))
	sum := 0.0
	for i, p := range prompts {
		st := done[int64(i)]
		sum += st.PassRate
		stats[i], kept[i] = st, cfg.keep(st.PassRate)
		if kept[i] {
			rows = append(rows, Row{Prompt: p, Split: split, Stats: st})
		}
	}
	if len(prompts) > 0 {
		res.MeanPassRate = sum / float64(len(prompts))
	}
	res.Written = len(rows)
	meta := map[string]any{"model": model, "config": cfg, "alpha": cfg.Alpha, "beta": cfg.Beta, "rows": len(prompts)}
	if cfg.Filter {
		meta["min_pass"], meta["max_pass"] = cfg.MinPass, cfg.MaxPass
	}
	mdJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	md := map[string]string{MetadataKey: string(mdJSON)}
	verl, err := isVerlFile(cfg.Dataset)
	if err != nil {
		return err
	}
	if verl {
		return writePassthrough(opts.Out, cfg.Dataset, opts.Allocator, md, kept, stats, cfg.Alpha, cfg.Beta)
	}
	return writeParquet(opts.Out, opts.Allocator, md, rows, cfg.Alpha, cfg.Beta)
}

// loadPrompts reads the first cfg.Limit rows (all with 0) of cfg.Dataset.
func loadPrompts(ctx context.Context, cfg Config) ([]data.Prompt, error) {
	opts := []data.Option{data.WithSeed(cfg.Seed), data.WithN(cfg.Limit)}
	if cfg.Difficulty > 0 {
		opts = append(opts, data.WithDifficulty(cfg.Difficulty))
	}
	rd, err := data.OpenSpec(cfg.Dataset, opts...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []data.Prompt
	for cfg.Limit == 0 || len(out) < cfg.Limit {
		batch, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, batch...)
	}
	if cfg.Limit > 0 && len(out) > cfg.Limit {
		out = out[:cfg.Limit]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: dataset %s has no rows", ErrConfig, cfg.Dataset)
	}
	return out, nil
}

// checkContext refuses prompts that do not fit the model's context with
// room for one new token, naming the first such row, before any rollout.
func checkContext(cfg Config, src *Source, tmpl data.Template, prompts []data.Prompt) error {
	if src.Context <= 0 || src.Codec == nil {
		return nil
	}
	render := src.Renderer
	if render == nil {
		render = rollout.TemplateRenderer{Template: tmpl}
	}
	for i, p := range prompts {
		text, err := render.Render(p, data.ModeTrace)
		if err != nil {
			return fmt.Errorf("%w: %s row %d: %w", ErrConfig, cfg.Dataset, i, err)
		}
		if n := len(src.Codec.Encode(text)); n >= src.Context {
			return fmt.Errorf("%w: %s row %d: the rendered prompt has %d tokens, but the model's context is %d",
				ErrConfig, cfg.Dataset, i, n, src.Context)
		}
	}
	return nil
}
