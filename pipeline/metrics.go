package pipeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/stage"
	"github.com/rlpipe/rlpipe/policy/learn"
)

// Run-directory file names.
const (
	metricsFile   = "metrics.jsonl"
	evalFile      = "eval.jsonl"
	configFile    = "config.yaml"
	behaviourFile = "behaviour.safetensors"
)

// StepMetrics is one line of metrics.jsonl. Everything except Timing is a
// deterministic function of the seed and configuration, so a resumed run
// reproduces it exactly.
type StepMetrics struct {
	Step          int64              `json:"step"`
	RewardMean    float64            `json:"reward_mean"`
	RewardStd     float64            `json:"reward_std"`
	RewardParts   map[string]float64 `json:"reward_parts,omitempty"`
	Accuracy      float64            `json:"accuracy"`
	AccuracyMode  map[string]float64 `json:"accuracy_by_mode,omitempty"`
	AdvMean       float64            `json:"advantage_mean"`
	AdvStd        float64            `json:"advantage_std"`
	AdvAbsMax     float64            `json:"advantage_abs_max"`
	ZeroStdFrac   float64            `json:"zero_std_group_frac"`
	Loss          float64            `json:"loss"`
	PGLoss        float64            `json:"pg_loss"`
	KL            float64            `json:"kl"`
	ApproxKL      float64            `json:"approx_kl"`
	ClipLow       float64            `json:"clip_frac_low"`
	ClipHigh      float64            `json:"clip_frac_high"`
	ClipDual      float64            `json:"clip_frac_dual"`
	RatioMean     float64            `json:"ratio_mean"`
	RatioMax      float64            `json:"ratio_max"`
	GradNorm      float64            `json:"grad_norm"`
	LR            float64            `json:"lr"`
	LenMean       float64            `json:"response_length_mean"`
	LenMax        float64            `json:"response_length_max"`
	Truncation    float64            `json:"truncation_rate"`
	DroppedGroups int                `json:"dropped_groups"`
	// DroppedRollouts counts samples lost by a remote generator this step.
	DroppedRollouts int                `json:"dropped_rollouts"`
	RewardErrors    int                `json:"reward_errors"`
	TrainRows       int                `json:"train_rows"`
	Entropy         float64            `json:"entropy"`
	Sampler         map[string]float64 `json:"sampler"`
	Filter          map[string]float64 `json:"filter,omitempty"`
	// Refresh summarises the VAS full refresh run before this step's pick
	// (sampling.vas.refresh: full); absent at other steps.
	Refresh map[string]float64 `json:"vas_refresh,omitempty"`
	Algo    map[string]float64 `json:"algo,omitempty"`
	Timing  StepTiming         `json:"timing"`
}

// StepTiming holds the wall-clock figures of a step (not reproducible).
type StepTiming struct {
	RolloutS     float64 `json:"rollout_busy_s"`
	RewardS      float64 `json:"reward_busy_s"`
	LearnerS     float64 `json:"learner_busy_s"`
	TokensPerSec float64 `json:"tokens_per_s"`
	// Stages holds each stage's busy and blocked time during this step.
	Stages map[string]StageTimes `json:"stages,omitempty"`
	// WallS is the wall time of the step, from the previous step's end.
	WallS float64 `json:"wall_s"`
	// RefreshS is the wall time of the VAS full refresh before this step's
	// pick, when this process ran it (a resumed run counts its own part).
	RefreshS float64 `json:"vas_refresh_s,omitempty"`
}

// StageTimes are one stage's seconds of work and of waiting in one step.
type StageTimes struct {
	BusyS       float64 `json:"busy_s"`
	BlockedInS  float64 `json:"blocked_in_s"`
	BlockedOutS float64 `json:"blocked_out_s"`
}

// stepClock measures each step of a running loop: its wall time and each
// stage's busy and blocked time, as differences between the Graph's
// counters at the ends of consecutive steps. The learner goroutine owns it.
type stepClock struct {
	graph   *stage.Graph
	last    []stage.Stats // the stages' counters at the end of the previous step
	lastEnd time.Time
}

func newStepClock(g *stage.Graph) *stepClock {
	return &stepClock{graph: g, lastEnd: time.Now()}
}

// lap ends a step: it returns each stage's times and the wall seconds
// since the previous lap (or the clock's start).
func (c *stepClock) lap() (map[string]StageTimes, float64) {
	now := c.graph.Stats()
	out := make(map[string]StageTimes, len(now))
	for i, st := range now {
		d := StageTimes{BusyS: st.Busy.Seconds(), BlockedInS: st.BlockedIn.Seconds(), BlockedOutS: st.BlockedOut.Seconds()}
		if i < len(c.last) {
			prev := c.last[i]
			d.BusyS -= prev.Busy.Seconds()
			d.BlockedInS -= prev.BlockedIn.Seconds()
			d.BlockedOutS -= prev.BlockedOut.Seconds()
		}
		out[st.Name] = d
	}
	c.last = now
	end := time.Now()
	wall := end.Sub(c.lastEnd).Seconds()
	c.lastEnd = end
	return out, wall
}

func newStepMetrics(s int64, rows []data.TrainRow, groups []int, correct []bool, zeroStd int, st learn.Stats) *StepMetrics {
	m := &StepMetrics{Step: s + 1, Loss: st.Loss, PGLoss: st.Metrics.PGLoss, KL: st.Metrics.KLMean, ApproxKL: st.Metrics.ApproxKL,
		ClipLow: st.Metrics.ClipFracLow, ClipHigh: st.Metrics.ClipFracHigh, ClipDual: st.Metrics.ClipFracDual,
		RatioMean: st.Metrics.RatioMean, RatioMax: st.Metrics.RatioMax, GradNorm: st.GradNorm, LR: st.LR,
		TrainRows: st.TrainRows}
	n := float64(len(rows))
	if n == 0 {
		return m
	}
	parts := map[string]float64{}
	modeHits, modeN := map[string]float64{}, map[string]float64{}
	var rs, advs []float64
	for i, r := range rows {
		rs = append(rs, r.Reward)
		advs = append(advs, float64(r.Advantage))
		m.AdvAbsMax = math.Max(m.AdvAbsMax, math.Abs(float64(r.Advantage)))
		for k, v := range r.RewardParts {
			parts[k] += v / n
		}
		mode := modeName(r.Mode)
		modeN[mode]++
		if correct[i] {
			m.Accuracy += 1 / n
			modeHits[mode]++
		}
		l := float64(len(r.CompletionTokens))
		m.LenMean += l / n
		m.LenMax = math.Max(m.LenMax, l)
		if r.FinishReason == data.FinishLength {
			m.Truncation += 1 / n
		}
		if r.RewardError != "" {
			m.RewardErrors++
		}
	}
	m.RewardMean, m.RewardStd = meanStd(rs)
	m.AdvMean, m.AdvStd = meanStd(advs)
	if len(parts) > 0 {
		m.RewardParts = parts
	}
	if len(modeN) > 1 {
		m.AccuracyMode = map[string]float64{}
		for k, v := range modeN {
			m.AccuracyMode[k] = modeHits[k] / v
		}
	}
	if ng := groups[len(groups)-1] + 1; ng > 0 {
		m.ZeroStdFrac = float64(zeroStd) / float64(ng)
	}
	return m
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// jsonlFile appends JSON objects, one a line, flushing after each so a
// killed run loses nothing it reported.
type jsonlFile struct {
	f *os.File
	w *bufio.Writer
}

func openJSONL(path string) (*jsonlFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return &jsonlFile{f: f, w: bufio.NewWriter(f)}, nil
}

func (j *jsonlFile) Write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	j.w.Write(b)
	j.w.WriteByte('\n')
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", j.f.Name(), err)
	}
	return nil
}

func (j *jsonlFile) Close() error {
	j.w.Flush()
	return j.f.Close()
}

// truncateJSONL keeps the lines of path whose "step" is at most maxStep, so
// that a resumed run appends after its checkpoint exactly.
func truncateJSONL(path string, maxStep int64) error {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	var kept []byte
	for line := range splitLines(raw) {
		var head struct {
			Step int64 `json:"step"`
		}
		if json.Unmarshal(line, &head) != nil || head.Step > maxStep {
			continue
		}
		kept = append(append(kept, line...), '\n')
	}
	return replaceFileAtomic(path, kept)
}

func splitLines(b []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		start := 0
		for i, c := range b {
			if c == '\n' {
				if i > start && !yield(b[start:i]) {
					return
				}
				start = i + 1
			}
		}
		if start < len(b) {
			yield(b[start:])
		}
	}
}

func replaceFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return os.Rename(tmp, path)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
