package optim

import (
	"fmt"
	"math"
)

// Schedule kinds accepted by ScheduleConfig.Kind.
const (
	ScheduleCosine   = "cosine"
	ScheduleConstant = "constant"
)

// ScheduleConfig configures the learning-rate schedule. The zero value is
// a constant schedule without warmup.
type ScheduleConfig struct {
	// Kind is "cosine" or "constant" (default "constant").
	Kind string `yaml:"kind" json:"kind"`
	// WarmupSteps is the length of the linear warmup from 0 (default 0).
	WarmupSteps int `yaml:"warmup_steps" json:"warmup_steps"`
	// TotalSteps is the step at which cosine decay reaches its floor;
	// required (> WarmupSteps) for "cosine", ignored for "constant".
	TotalSteps int `yaml:"total_steps" json:"total_steps"`
	// MinLRRatio is the cosine floor as a fraction of the peak, in [0, 1]
	// (default 0).
	MinLRRatio float64 `yaml:"min_lr_ratio" json:"min_lr_ratio"`
}

// Validate reports an unknown kind or a field out of range.
func (c ScheduleConfig) Validate() error {
	switch c.Kind {
	case "", ScheduleConstant, ScheduleCosine:
	default:
		return fmt.Errorf("optim: schedule field \"kind\" = %q: want %q or %q", c.Kind, ScheduleCosine, ScheduleConstant)
	}
	if c.WarmupSteps < 0 {
		return fmt.Errorf("optim: schedule field \"warmup_steps\" = %d: want >= 0", c.WarmupSteps)
	}
	if !(c.MinLRRatio >= 0 && c.MinLRRatio <= 1) {
		return fmt.Errorf("optim: schedule field \"min_lr_ratio\" = %v: want in [0, 1]", c.MinLRRatio)
	}
	if c.Kind == ScheduleCosine && c.TotalSteps <= c.WarmupSteps {
		return fmt.Errorf("optim: schedule field \"total_steps\" = %d: cosine needs total_steps > warmup_steps (%d)", c.TotalSteps, c.WarmupSteps)
	}
	return nil
}

// Schedule maps a 0-based optimizer step to a learning rate. It is
// immutable and safe for concurrent use.
type Schedule struct {
	cfg  ScheduleConfig
	peak float64
}

// NewSchedule returns the schedule of cfg around peak (usually
// AdamWConfig.LR after defaults), or an error if cfg is invalid or peak is
// not a finite positive number.
func NewSchedule(cfg ScheduleConfig, peak float64) (*Schedule, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !(peak > 0) || math.IsInf(peak, 0) {
		return nil, fmt.Errorf("optim: schedule peak lr %v: want finite > 0", peak)
	}
	if cfg.Kind == "" {
		cfg.Kind = ScheduleConstant
	}
	return &Schedule{cfg: cfg, peak: peak}, nil
}

// LR returns the learning rate for 0-based step:
//
//	step < W:            peak·step/W                       (linear from 0)
//	constant, step >= W: peak
//	cosine,   step >= W: peak·(r + (1-r)·(1+cos(π·p))/2),  p = min(1, (step-W)/(T-W))
//
// with W = WarmupSteps, T = TotalSteps, r = MinLRRatio; after T the cosine
// schedule stays at peak·r. Negative steps are treated as 0.
func (s *Schedule) LR(step int) float64 {
	step = max(step, 0)
	w := s.cfg.WarmupSteps
	if step < w {
		return s.peak * float64(step) / float64(w)
	}
	if s.cfg.Kind == ScheduleConstant {
		return s.peak
	}
	p := math.Min(1, float64(step-w)/float64(s.cfg.TotalSteps-w))
	r := s.cfg.MinLRRatio
	return s.peak * (r + (1-r)*0.5*(1+math.Cos(math.Pi*p)))
}
