package optim

import (
	"math"
	"strings"
	"testing"
)

func TestScheduleLR(t *testing.T) {
	const peak = 0.01
	cosine := ScheduleConfig{Kind: ScheduleCosine, WarmupSteps: 10, TotalSteps: 110, MinLRRatio: 0.1}
	tests := []struct {
		name string
		cfg  ScheduleConfig
		step int
		want float64
	}{
		{"the zero config is constant from step 0", ScheduleConfig{}, 0, peak},
		{"the zero config is constant later too", ScheduleConfig{}, 1000, peak},
		{"warmup starts at zero", cosine, 0, 0},
		{"warmup is linear", cosine, 3, 0.003},
		{"warmup reaches the peak at its end", cosine, 10, peak},
		{"cosine is halfway down at its midpoint", cosine, 60, peak * (0.1 + 0.9*0.5)},
		{"cosine at a quarter follows (1+cos)/2", cosine, 35, peak * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi/4)))},
		{"cosine reaches the floor at total steps", cosine, 110, peak * 0.1},
		{"cosine stays at the floor after total steps", cosine, 500, peak * 0.1},
		{"cosine without a floor reaches zero", ScheduleConfig{Kind: ScheduleCosine, TotalSteps: 4}, 4, 0},
		{"constant with warmup ramps then holds", ScheduleConfig{Kind: ScheduleConstant, WarmupSteps: 4}, 2, peak / 2},
		{"constant with warmup holds at the peak", ScheduleConfig{Kind: ScheduleConstant, WarmupSteps: 4}, 40, peak},
		{"negative steps count as step 0", cosine, -5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchedule(tt.cfg, peak)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.LR(tt.step); !close(got, tt.want, 1e-15, 1e-12) {
				t.Fatalf("LR(%d) = %.17g, want %.17g", tt.step, got, tt.want)
			}
		})
	}
	t.Run("cosine never increases after warmup", func(t *testing.T) {
		s, _ := NewSchedule(cosine, peak)
		for step := 11; step < 200; step++ {
			if s.LR(step) > s.LR(step-1) {
				t.Fatalf("LR(%d) = %v > LR(%d) = %v", step, s.LR(step), step-1, s.LR(step-1))
			}
		}
	})
}

func TestScheduleConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   ScheduleConfig
		peak  float64
		field string
	}{
		{"an unknown kind", ScheduleConfig{Kind: "linear"}, 1, "kind"},
		{"negative warmup", ScheduleConfig{WarmupSteps: -1}, 1, "warmup_steps"},
		{"a floor above one", ScheduleConfig{MinLRRatio: 1.5}, 1, "min_lr_ratio"},
		{"a NaN floor", ScheduleConfig{MinLRRatio: math.NaN()}, 1, "min_lr_ratio"},
		{"cosine without total steps", ScheduleConfig{Kind: ScheduleCosine}, 1, "total_steps"},
		{"cosine whose warmup covers the run", ScheduleConfig{Kind: ScheduleCosine, WarmupSteps: 10, TotalSteps: 10}, 1, "total_steps"},
		{"a zero peak", ScheduleConfig{}, 0, "peak"},
		{"an infinite peak", ScheduleConfig{}, math.Inf(1), "peak"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := NewSchedule(tt.cfg, tt.peak)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("NewSchedule = %v, want an error naming %q", err, tt.field)
			}
		})
	}
}
