package flight

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

func newPoolT(t *testing.T, addrs []string, opts ...Option) *RolloutPool {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	rp, err := NewRolloutPool(addrs, append([]Option{WithAllocator(mem)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

var tokMeta = map[string]string{MetaTokenizer: tokenizer.New().Spec()}

func TestRolloutPoolMatchesInProcess(t *testing.T) {
	m := tinyModel(t, 11)
	chat := data.Template{Kind: data.TemplateChat, System: "s"} // short enough for the tiny context
	cases := []struct {
		name    string
		workers int
		prompts int
		tmpl    data.Template
	}{
		{"two workers split five prompts and match in-process rows", 2, 5, data.Template{}},
		{"one worker matches with the chat template", 1, 3, chat},
		{"more workers than prompts leaves some idle", 3, 2, data.Template{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			for range tc.workers {
				ts, _ := rolloutWorker(t, RolloutServerConfig{})
				addrs = append(addrs, ts.Addr())
			}
			rp := newPoolT(t, addrs, WithTemplate(tc.tmpl))
			req := testRequest(testPrompts(tc.prompts), 5)
			want := inProcessRows(t, m, req, tc.tmpl)
			got, err := rp.Generator(5, WeightsFunc(m, tokMeta)).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkSameRows(t, got, want)
			st := rp.Stats()
			if busy := min(tc.workers, tc.prompts); st.Pushes != int64(busy) || st.Requests != int64(busy) || st.Retries != 0 || len(st.Dead) != 0 {
				t.Errorf("stats %+v, want %d pushes and requests, no retries", st, busy)
			}
		})
	}
}

func TestGeneratorPushesWeightsOncePerVersionPerWorker(t *testing.T) {
	a, _ := rolloutWorker(t, RolloutServerConfig{})
	b, _ := rolloutWorker(t, RolloutServerConfig{})
	rp := newPoolT(t, []string{a.Addr(), b.Addr()})
	m := tinyModel(t, 3)
	calls := 0
	save := WeightsFunc(m, tokMeta)
	g := rp.Generator(1, func(w io.Writer) error { calls++; return save(w) })
	for step := range 3 {
		req := testRequest(testPrompts(4), 1)
		req.Step = int64(step)
		if _, err := g.Generate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if st := rp.Stats(); st.Pushes != 2 || calls != 1 {
		t.Fatalf("%d pushes and %d serializations for 3 requests on 2 workers, want 2 and 1", st.Pushes, calls)
	}
}

func TestEvictedVersionIsPushedAgain(t *testing.T) {
	ts, srv := rolloutWorker(t, RolloutServerConfig{KeepVersions: 1})
	rp := newPoolT(t, []string{ts.Addr()})
	m1, m2 := tinyModel(t, 1), tinyModel(t, 2)
	g1, g2 := rp.Generator(1, WeightsFunc(m1, tokMeta)), rp.Generator(2, WeightsFunc(m2, tokMeta))
	req := testRequest(testPrompts(2), 1)
	for _, g := range []*Generator{g1, g2, g1} {
		req.PolicyVersion = g.Version()
		if _, err := g.Generate(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	got, err := g1.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRows(t, got, inProcessRows(t, m1, req, data.Template{}))
	if st, v := rp.Stats(), srv.Versions(); st.Pushes != 3 || st.Retries != 1 || len(v) != 1 || v[0] != 1 {
		t.Fatalf("stats %+v, versions %v: want 3 pushes, 1 retry, worker holding [1]", st, v)
	}
}

func TestVersionMismatchIsFailedPrecondition(t *testing.T) {
	ts, srv := rolloutWorker(t, RolloutServerConfig{})
	srv.SetModel(5, tinyModel(t, 1), nil)
	rp := newPoolT(t, []string{ts.Addr()})
	w := rp.pool.workers[0]
	h := rolloutHeader(testRequest(nil, 7), data.Template{}, nil)
	h.Weights = 7
	rec := data.NewPromptsRecord(rp.pool.cfg.mem, testPrompts(2))
	defer rec.Release()
	_, err := exchange(context.Background(), w.client, rp.pool.cfg.mem, h, rec.Schema(), []arrow.Record{rec}, data.RolloutsSchema(), func(arrow.Record) error { return nil })
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "does not hold policy version 7 (holds [5])") {
		t.Fatalf("got %v, want FailedPrecondition naming versions 7 and [5]", err)
	}
}

func TestWorkerKilledMidRequestFailsOver(t *testing.T) {
	m := tinyModel(t, 21)
	good, _ := rolloutWorker(t, RolloutServerConfig{})
	blocker := &blockingModel{started: make(chan struct{})}
	bad, _ := rolloutWorker(t, RolloutServerConfig{wrap: func(rollout.Model) rollout.Model { return blocker }})
	rp := newPoolT(t, []string{good.Addr(), bad.Addr()})
	go func() {
		<-blocker.started
		bad.Stop() // as if the process died mid-request
	}()
	req := testRequest(testPrompts(6), 9)
	got, err := rp.Generator(9, WeightsFunc(m, tokMeta)).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRows(t, got, inProcessRows(t, m, req, data.Template{}))
	st := rp.Stats()
	if st.Retries != 1 || len(st.Dead) != 1 || st.Dead[0] != bad.Addr() {
		t.Fatalf("stats %+v, want one retry and %s dead", st, bad.Addr())
	}
	// The dead worker is not tried again.
	if _, err := rp.Generator(10, WeightsFunc(m, tokMeta)).Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if st2 := rp.Stats(); st2.Retries != 1 {
		t.Fatalf("a later request retried (%+v)", st2)
	}
}

func TestNoWorkersFailsQuickly(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T) ([]string, []Option)
	}{
		{"refused connections mark every worker dead", func(t *testing.T) ([]string, []Option) {
			return []string{deadAddr(t), deadAddr(t)}, nil
		}},
		{"a worker that hangs past the request timeout is dead", func(t *testing.T) ([]string, []Option) {
			ts, _ := rolloutWorker(t, RolloutServerConfig{wrap: func(rollout.Model) rollout.Model {
				return &blockingModel{started: make(chan struct{})}
			}})
			return []string{ts.Addr()}, []Option{WithRequestTimeout(300 * time.Millisecond)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addrs, opts := tc.setup(t)
			rp := newPoolT(t, addrs, opts...)
			g := rp.Generator(1, WeightsFunc(tinyModel(t, 1), tokMeta))
			start := time.Now()
			_, err := g.Generate(context.Background(), testRequest(testPrompts(4), 1))
			if !errors.Is(err, ErrNoWorkers) {
				t.Fatalf("got %v, want ErrNoWorkers", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
			if st := rp.Stats(); len(st.Dead) != len(addrs) {
				t.Fatalf("stats %+v, want all dead", st)
			}
			if _, err := g.Generate(context.Background(), testRequest(testPrompts(4), 1)); !errors.Is(err, ErrNoWorkers) {
				t.Fatalf("second request: %v", err)
			}
		})
	}
}

func TestBadRequestIsNotRetried(t *testing.T) {
	ts, _ := rolloutWorker(t, RolloutServerConfig{})
	rp := newPoolT(t, []string{ts.Addr()})
	long := testPrompts(1)
	long[0].Prompt = strings.Repeat("9", 200) // longer than the model's context
	_, err := rp.Generator(1, WeightsFunc(tinyModel(t, 1), tokMeta)).Generate(context.Background(), testRequest(long, 1))
	if !errors.Is(err, ErrRemote) || errors.Is(err, ErrNoWorkers) {
		t.Fatalf("got %v, want ErrRemote", err)
	}
	if st := rp.Stats(); st.Retries != 0 || len(st.Dead) != 0 {
		t.Fatalf("stats %+v: a bad request must not kill the worker", st)
	}
}

func TestDiffusionPolicyMatchesInProcess(t *testing.T) {
	m := tinyDiffusion(t, 5)
	gen := policy.DiffusionGenConfig{Steps: 4, BlockLen: 4}
	ts, _ := rolloutWorker(t, RolloutServerConfig{})
	rp := newPoolT(t, []string{ts.Addr()}, WithDiffusion(gen))
	req := testRequest(testPrompts(2), 2)
	req.Params.MaxNewTokens = 8
	if err := m.(policy.DiffusionSampler).SetGenConfig(gen); err != nil {
		t.Fatal(err)
	}
	want := inProcessRows(t, m, req, data.Template{})
	got, err := rp.Generator(2, WeightsFunc(m, tokMeta)).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRows(t, got, want)
}
