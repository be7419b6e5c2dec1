package flight

import (
	"context"
	"fmt"
	"math"
	"net"
	"sync"
	"testing"

	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// tinyModel is a small causal policy with a fixed seed.
func tinyModel(t testing.TB, seed uint64) policy.Trainable {
	t.Helper()
	m, err := policy.NewTrainable(policy.KindAR, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 64, Vocab: tokenizer.Size, Causal: true, InitSeed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tinyDiffusion is a small diffusion policy with a fixed seed.
func tinyDiffusion(t testing.TB, seed uint64) policy.Trainable {
	t.Helper()
	m, err := policy.NewTrainable(policy.KindDiffusion, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 64, Vocab: tokenizer.Size, InitSeed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testPrompts returns n distinct arithmetic prompts.
func testPrompts(n int) []data.Prompt {
	ps := make([]data.Prompt, n)
	for i := range ps {
		q := fmt.Sprintf("%d+%d=", i, 2*i+1)
		ps[i] = data.Prompt{ID: data.PromptID("flight-test", q), Dataset: "flight-test", Prompt: q, Answer: fmt.Sprint(3*i + 1), Meta: "{}"}
	}
	return ps
}

func testRequest(prompts []data.Prompt, version int64) rollout.Request {
	return rollout.Request{Prompts: prompts, G: 3, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 42, Step: 3, Round: 1,
		PolicyVersion: version, Params: data.GenParams{Temperature: 1, TopP: 0.95, MaxNewTokens: 10}}
}

// inProcessRows is what the in-process path produces for req.
func inProcessRows(t testing.TB, m rollout.Model, req rollout.Request, tmpl data.Template) []data.Rollout {
	t.Helper()
	g := &rollout.InProcess{Model: m, Codec: tokenizer.New(), Renderer: rollout.TemplateRenderer{Template: tmpl}}
	rows, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkSameRows fails unless got equals want bit for bit (empty and nil
// token lists are the same; null and empty logprobs are not).
func checkSameRows(t testing.TB, got, want []data.Rollout) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if err := sameRow(got[i], want[i]); err != nil {
			t.Fatalf("row %d (prompt %x sample %d mode %d): %v", i, want[i].PromptID, want[i].SampleIdx, want[i].Mode, err)
		}
	}
}

func sameRow(a, b data.Rollout) error {
	switch {
	case a.PromptID != b.PromptID || a.Dataset != b.Dataset || a.Prompt != b.Prompt || a.Answer != b.Answer || a.Meta != b.Meta:
		return fmt.Errorf("prompt fields differ")
	case a.SampleIdx != b.SampleIdx || a.Mode != b.Mode || a.PolicyVersion != b.PolicyVersion:
		return fmt.Errorf("sample_idx/mode/version %d/%d/%d, want %d/%d/%d", a.SampleIdx, a.Mode, a.PolicyVersion, b.SampleIdx, b.Mode, b.PolicyVersion)
	case a.Completion != b.Completion || a.FinishReason != b.FinishReason:
		return fmt.Errorf("completion %q (%s), want %q (%s)", a.Completion, a.FinishReason, b.Completion, b.FinishReason)
	case !sameInts(a.PromptTokens, b.PromptTokens) || !sameInts(a.CompletionTokens, b.CompletionTokens):
		return fmt.Errorf("tokens differ")
	case (a.Logprobs == nil) != (b.Logprobs == nil) || len(a.Logprobs) != len(b.Logprobs):
		return fmt.Errorf("logprobs %v, want %v", a.Logprobs, b.Logprobs)
	}
	for i := range a.Logprobs {
		if math.Float32bits(a.Logprobs[i]) != math.Float32bits(b.Logprobs[i]) {
			return fmt.Errorf("logprob %d: %v, want %v", i, a.Logprobs[i], b.Logprobs[i])
		}
	}
	return nil
}

func sameInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testServer is a worker on an ephemeral loopback port.
type testServer struct {
	*Server
	done chan error
}

func serve(t testing.TB, svc arrowflight.FlightServer) *testServer {
	t.Helper()
	s, err := Listen("127.0.0.1:0", svc)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve() }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

// rolloutWorker starts a rollout worker with a checked allocator that must
// be empty when the test ends.
func rolloutWorker(t testing.TB, cfg RolloutServerConfig) (*testServer, *RolloutServer) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	cfg.Mem = mem
	srv, err := NewRolloutServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.AssertSize(t, 0) }) // registered first: runs after the server stops
	return serve(t, srv), srv
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// blockingModel blocks every Generate until its context ends, closing
// started on the first call.
type blockingModel struct {
	once    sync.Once
	started chan struct{}
}

func (b *blockingModel) Generate(ctx context.Context, _ uint64, _ []data.GenRequest, _ data.GenParams) ([]data.GenResult, error) {
	b.once.Do(func() { close(b.started) })
	<-ctx.Done()
	return nil, ctx.Err()
}
