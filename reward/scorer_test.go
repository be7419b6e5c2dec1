package reward_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/reward"
)

func init() {
	// Test rewards: "echo" returns the completion parsed as a float (NaN,
	// Inf allowed), "sleepy" sleeps for the completion's duration, "boom"
	// panics on "panic" and errors on "fail".
	reward.Register("test-echo", reward.Static(reward.RowFunc(func(_ context.Context, r reward.Row) (float64, error) {
		switch r.Completion {
		case "NaN":
			return math.NaN(), nil
		case "Inf":
			return math.Inf(1), nil
		case "fail":
			return 0, errors.New("echo failed")
		case "panic":
			panic("echo panicked")
		}
		var v float64
		for _, c := range r.Completion {
			v = v*10 + float64(c-'0')
		}
		return v, nil
	})))
	reward.Register("test-sleepy", reward.Static(reward.RowFunc(func(ctx context.Context, r reward.Row) (float64, error) {
		if r.Completion == "block" {
			<-sleepyGate()
			return 1, nil
		}
		d, _ := time.ParseDuration(r.Completion)
		time.Sleep(d)
		return 1, nil
	})))
}

// blockGate is the channel test-sleepy's "block" rows wait on. Like
// non-preemptible Go code they ignore ctx, and they run until their test
// opens the gate, so a timeout on them does not depend on machine load.
var blockGate struct {
	sync.Mutex
	ch chan struct{}
}

func sleepyGate() chan struct{} {
	blockGate.Lock()
	defer blockGate.Unlock()
	return blockGate.ch
}

// shutGate makes "block" rows wait until the returned open is called, at
// the latest in t's cleanup, so the goroutines the scorer abandons end with
// the test (goleak). open reports whether the gate was still shut.
func shutGate(t *testing.T) (open func() bool) {
	ch := make(chan struct{})
	blockGate.Lock()
	blockGate.ch = ch
	blockGate.Unlock()
	var once sync.Once
	open = func() (wasShut bool) {
		once.Do(func() { close(ch); wasShut = true })
		return wasShut
	}
	t.Cleanup(func() { open() })
	return open
}

// failingGroup returns four test-echo rows, two groups (ids 7 and 9) of
// two, whose row 1 fails.
func failingGroup() ([]reward.Row, []int) {
	return []reward.Row{{Completion: "1"}, {Completion: "fail"}, {Completion: "3"}, {Completion: "4"}}, []int{7, 7, 9, 9}
}

func newScorer(t *testing.T, c reward.Config) *reward.Scorer {
	t.Helper()
	s, err := reward.NewScorer(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestScorerComposesWeightedParts(t *testing.T) {
	s := newScorer(t, reward.Config{Spec: "0.5*test-echo + 2*format"})
	got := scoreRows(t, s, reward.Row{Completion: "4"})[0]
	if got.Err != "" || got.Reward != 2 || got.Parts["test-echo"] != 4 || got.Parts["format"] != 0 {
		t.Fatalf("got %+v, want reward 2 with parts test-echo=4 format=0", got)
	}
}

func TestScorerRecordsRowErrors(t *testing.T) {
	s := newScorer(t, reward.Config{Spec: "test-echo"})
	for _, tc := range []struct {
		completion string
		kind       reward.ErrorKind
	}{{"NaN", reward.KindNaN}, {"Inf", reward.KindNaN}, {"fail", reward.KindError}, {"panic", reward.KindError}} {
		got := scoreRows(t, s, reward.Row{Completion: tc.completion})[0]
		if got.Kind != tc.kind || got.Reward != 0 || !strings.HasPrefix(got.Err, "test-echo: ") {
			t.Errorf("%s: got %+v, want kind %q", tc.completion, got, tc.kind)
		}
	}
	// Row 0 blocks until the gate opens, so it times out however loaded
	// the machine is; the timeout is long enough that row 1 never does.
	// Score must return without waiting for row 0's abandoned goroutine:
	// the gate is still shut when it returns (a Score that waited would be
	// released only by the backstop, and fail here).
	open := shutGate(t)
	backstop := time.AfterFunc(time.Minute, func() { open() })
	defer backstop.Stop()
	sl := newScorer(t, reward.Config{Spec: "test-sleepy", Timeout: 2 * time.Second})
	got := scoreRows(t, sl, reward.Row{Completion: "block"}, reward.Row{Completion: "1ms"})
	if !open() {
		t.Errorf("Score waited for a row past its timeout")
	}
	if got[0].Kind != reward.KindTimeout || got[1].Err != "" {
		t.Errorf("got %+v, want a timeout on row 0 only", got)
	}
}

func TestScoreGroupsPolicies(t *testing.T) {
	rows, groups := failingGroup()
	for _, tc := range []struct {
		name    string
		cfg     reward.Config
		wantErr error
		dropped []bool
		rewards []float64
	}{
		{"drop_group drops every row of a failed group", reward.Config{Spec: "test-echo", MaxErrorRate: 0.5},
			nil, []bool{true, true, false, false}, []float64{1, 0, 3, 4}},
		{"zero keeps rows and zeroes failures", reward.Config{Spec: "test-echo", OnError: reward.OnErrorZero, MaxErrorRate: 0.5},
			nil, []bool{false, false, false, false}, []float64{1, 0, 3, 4}},
		{"fail fails the batch", reward.Config{Spec: "test-echo", OnError: reward.OnErrorFail},
			reward.ErrRowFailed, nil, nil},
		{"max_error_rate fails the batch", reward.Config{Spec: "test-echo", MaxErrorRate: 0.2},
			reward.ErrTooManyErrors, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScorer(t, tc.cfg)
			out := make([]reward.Result, len(rows))
			c, err := s.ScoreGroups(context.Background(), rows, groups, out)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if c.Rows != 4 || c.Errors != 1 || c.ByKind[reward.KindError] != 1 {
				t.Errorf("counts = %+v", c)
			}
			if out[1].Err == "" {
				t.Error("the failed row lost its error text")
			}
			for i := range tc.dropped {
				if out[i].Dropped != tc.dropped[i] || out[i].Reward != tc.rewards[i] {
					t.Errorf("row %d: got dropped=%v reward=%v, want %v %v", i, out[i].Dropped, out[i].Reward, tc.dropped[i], tc.rewards[i])
				}
			}
		})
	}
}

func TestCountsString(t *testing.T) {
	c := reward.Counts{Rows: 10, Errors: 3, ByKind: map[reward.ErrorKind]int{"timeout": 2, "nan": 1}, Dropped: 4, DroppedGroups: 2}
	want := "rows=10 errors=3 (nan=1 timeout=2) dropped=4 groups_dropped=2"
	if c.String() != want {
		t.Errorf("got %q, want %q", c.String(), want)
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []reward.PartConfig
	}{
		{"math", []reward.PartConfig{{Name: "math", Kind: "math", Weight: 1}}},
		{"0.9*math+0.1*format", []reward.PartConfig{{Name: "math", Kind: "math", Weight: 0.9}, {Name: "format", Kind: "format", Weight: 0.1}}},
		{"math + -0.5*length(max_len=10, buffer=5)", []reward.PartConfig{{Name: "math", Kind: "math", Weight: 1},
			{Name: "length", Kind: "length", Weight: -0.5, Options: reward.Options{"max_len": "10", "buffer": "5"}}}},
		{"subprocess:python3 v.py --x a+b", []reward.PartConfig{{Name: "subprocess", Kind: "subprocess", Weight: 1, Options: reward.Options{"command": "python3 v.py --x a+b"}}}},
		{"0.8*math+0.2*http:http://127.0.0.1:8080/score", []reward.PartConfig{{Name: "math", Kind: "math", Weight: 0.8},
			{Name: "http", Kind: "http", Weight: 0.2, Options: reward.Options{"url": "http://127.0.0.1:8080/score"}}}},
	} {
		got, err := reward.ParseSpec(tc.spec)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tc.spec, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseSpec(%q) = %+v", tc.spec, got)
			continue
		}
		for i := range got {
			g, w := got[i], tc.want[i]
			if g.Name != w.Name || g.Kind != w.Kind || g.Weight != w.Weight || len(g.Options) != len(w.Options) {
				t.Errorf("ParseSpec(%q)[%d] = %+v, want %+v", tc.spec, i, g, w)
			}
			for k, v := range w.Options {
				if g.Options[k] != v {
					t.Errorf("ParseSpec(%q)[%d] option %s = %v, want %v", tc.spec, i, k, g.Options[k], v)
				}
			}
		}
	}
	for _, bad := range []string{"", "math+", "ma th", "length(max_len)", "NaN*math"} {
		if _, err := reward.ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) succeeded", bad)
		}
	}
}

func TestConfigValidateAndLoad(t *testing.T) {
	bad := []reward.Config{
		{},
		{Spec: "nonexistent"},
		{Spec: "math+math"},
		{Spec: "math", OnError: "ignore"},
		{Spec: "math", MaxErrorRate: 1.5},
		{Spec: "math", Timeout: -time.Second},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	y := `
run: {steps: 3}
reward:
  parts:
    - {name: acc, kind: math}
    - {kind: length, weight: -1, options: {max_len: 100, buffer: 10}}
  on_error: zero
  timeout: 2s
`
	c, err := reward.LoadConfig([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r, _ := c.Resolved()
	if r.Parts[0].Weight != 1 || r.Parts[1].Name != "length" || r.Parts[1].Weight != -1 || r.Timeout != 2*time.Second || r.OnError != reward.OnErrorZero || r.MaxErrorRate != reward.DefaultMaxErrorRate {
		t.Errorf("resolved config = %+v", r)
	}
	if _, err := reward.LoadConfig([]byte("spec: math\nbogus: 1\n")); err == nil {
		t.Error("LoadConfig accepted an unknown key")
	}
}

func TestRegisterPanicsOnDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering math twice did not panic")
		}
	}()
	reward.Register("math", reward.Static(reward.RowFunc(nil)))
}
