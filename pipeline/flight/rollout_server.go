package flight

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/safetensors"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// DefaultKeepVersions is how many policy versions a rollout worker holds
// by default: two, so that the steps of a run with max_staleness 1 can
// overlap without pushing weights back and forth.
const DefaultKeepVersions = 2

// RolloutServerConfig configures a RolloutServer. The zero value is usable.
type RolloutServerConfig struct {
	// Tokenizer encodes prompts and decodes completions. nil means the byte
	// tokenizer; pushed weights whose metadata holds MetaTokenizer use that
	// spec instead.
	Tokenizer *tokenizer.Tokenizer
	// MaxBatch bounds the sequences of one model call (rollout.InProcess's
	// MaxBatch; 0 means a request's rows at once). It does not change the
	// rows, only memory use.
	MaxBatch int
	// KeepVersions is how many policy versions are held, the most recently
	// installed kept; 0 means DefaultKeepVersions.
	KeepVersions int
	// Mem allocates the reply batches; nil means memory.DefaultAllocator.
	Mem memory.Allocator

	// wrap, when set (tests), wraps every installed model.
	wrap func(rollout.Model) rollout.Model
}

// Validate reports negative sizes.
func (c RolloutServerConfig) Validate() error {
	if c.MaxBatch < 0 || c.KeepVersions < 0 {
		return fmt.Errorf("flight: rollout server: max_batch %d and keep_versions %d must be >= 0", c.MaxBatch, c.KeepVersions)
	}
	return nil
}

// genConfigurer is implemented by diffusion policies.
type genConfigurer interface {
	GenConfig() policy.DiffusionGenConfig
	SetGenConfig(policy.DiffusionGenConfig) error
}

// heldModel is one policy version a worker holds.
type heldModel struct {
	version int64
	base    rollout.Model // as loaded (for SetGenConfig)
	gen     rollout.Model // base, possibly wrapped
	tok     *tokenizer.Tokenizer
	// mu is read-locked while generating and write-locked to change a
	// diffusion model's sampling configuration, which must not overlap
	// Generate.
	mu sync.RWMutex
}

// RolloutServer is the Flight service of a rollout worker: it holds policy
// versions installed by set_weights (or SetModel) and generates rollouts
// with rollout.InProcess. It is safe for concurrent use; requests for
// different versions, or for the same one, run concurrently.
type RolloutServer struct {
	arrowflight.BaseFlightServer
	cfg RolloutServerConfig
	mem memory.Allocator

	mu   sync.Mutex
	held []*heldModel // in installation order, oldest first
}

// NewRolloutServer returns a server holding no policy yet.
func NewRolloutServer(cfg RolloutServerConfig) (*RolloutServer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.KeepVersions == 0 {
		cfg.KeepVersions = DefaultKeepVersions
	}
	if cfg.Tokenizer == nil {
		cfg.Tokenizer = tokenizer.New()
	}
	mem := cfg.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &RolloutServer{cfg: cfg, mem: mem}, nil
}

// SetModel installs m (a policy.Trainable or any rollout.Model) as version, replacing an equal version and evicting the
// least recently installed beyond KeepVersions. tok nil means the server's tokenizer. The
// server then owns m: the caller must not use it concurrently.
func (s *RolloutServer) SetModel(version int64, m rollout.Model, tok *tokenizer.Tokenizer) {
	if tok == nil {
		tok = s.cfg.Tokenizer
	}
	h := &heldModel{version: version, base: m, gen: m, tok: tok}
	if s.cfg.wrap != nil {
		h.gen = s.cfg.wrap(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = slices.DeleteFunc(s.held, func(x *heldModel) bool { return x.version == version })
	s.held = append(s.held, h)
	if n := len(s.held) - s.cfg.KeepVersions; n > 0 {
		s.held = slices.Delete(s.held, 0, n)
	}
}

// LoadWeights decodes a safetensors file (as Model.Save writes it; the
// model kind and config come from its metadata) and installs it as
// version. Cost: one copy of the weights through a temporary file.
func (s *RolloutServer) LoadWeights(version int64, st []byte) error {
	_, meta, err := safetensors.Read(bytes.NewReader(st))
	if err != nil {
		return fmt.Errorf("flight: set_weights version %d: %w", version, err)
	}
	tok := s.cfg.Tokenizer
	if spec, ok := meta[MetaTokenizer]; ok {
		if tok, err = tokenizer.FromSpec(spec); err != nil {
			return fmt.Errorf("flight: set_weights version %d: metadata %q: %w", version, MetaTokenizer, err)
		}
	}
	f, err := os.CreateTemp("", "rlpipe-weights-*.safetensors")
	if err != nil {
		return fmt.Errorf("flight: set_weights: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(st)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("flight: set_weights: %w", err)
	}
	m, _, err := policy.LoadTrainable(f.Name())
	if err != nil {
		return fmt.Errorf("flight: set_weights version %d: %w", version, err)
	}
	s.SetModel(version, m, tok)
	return nil
}

// Versions lists the held policy versions, least recently installed first.
func (s *RolloutServer) Versions() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, len(s.held))
	for i, h := range s.held {
		out[i] = h.version
	}
	return out
}

func (s *RolloutServer) lookup(version int64) (*heldModel, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var have []int64
	for _, h := range s.held {
		if h.version == version {
			return h, nil
		}
		have = append(have, h.version)
	}
	return nil, have
}

// DoAction serves ActionStatus and ActionSetWeights.
func (s *RolloutServer) DoAction(a *arrowflight.Action, stream arrowflight.FlightService_DoActionServer) error {
	switch a.Type {
	case ActionStatus:
		st := WorkerStatus{Role: RoleRollout, Versions: s.Versions()}
		if h, _ := s.newest(); h != nil {
			st.Kind = policy.ModelKindAutoregressive
			if _, ok := h.base.(genConfigurer); ok {
				st.Kind = policy.ModelKindDiffusion
			}
		}
		return sendJSON(stream, st)
	case ActionSetWeights:
		version, st, err := DecodeSetWeights(a.Body)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if err := s.LoadWeights(version, st); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		return stream.Send(&arrowflight.Result{Body: []byte("ok")})
	}
	return status.Errorf(codes.Unimplemented, "flight: rollout worker has no action %q (want %q or %q)", a.Type, ActionStatus, ActionSetWeights)
}

func (s *RolloutServer) newest() (*heldModel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.held) == 0 {
		return nil, false
	}
	return s.held[len(s.held)-1], true
}

func sendJSON(stream arrowflight.FlightService_DoActionServer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return stream.Send(&arrowflight.Result{Body: b})
}

// DoExchange serves one rollout request (see the package doc).
func (s *RolloutServer) DoExchange(stream arrowflight.FlightService_DoExchangeServer) error {
	ctx := stream.Context()
	h, prompts, err := readRequestRows(stream, s.mem, RoleRollout, data.PromptsSchema(), data.PromptsFromRecord)
	if err != nil {
		return err
	}
	req, tmpl, err := h.request()
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	req.Prompts = prompts
	held, have := s.lookup(h.Weights)
	if held == nil {
		return status.Errorf(codes.FailedPrecondition, "flight: rollout worker does not hold policy version %d (holds %v); push it with %q first", h.Weights, have, ActionSetWeights)
	}
	rows, err := held.generate(ctx, req, tmpl, h.Diffusion, s.cfg.MaxBatch)
	if err != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Internal, err.Error())
	}
	return writeReply(stream, s.mem, data.RolloutsSchema(), len(rows), nil, func(lo, hi int) arrow.Record {
		return data.NewRolloutsRecord(s.mem, rows[lo:hi])
	})
}

// generate runs rollout.InProcess over the held model, first switching a
// diffusion model to the requested sampling configuration.
func (h *heldModel) generate(ctx context.Context, req rollout.Request, tmpl data.Template, diff *policy.DiffusionGenConfig, maxBatch int) ([]data.Rollout, error) {
	if gc, ok := h.base.(genConfigurer); ok && diff != nil {
		want := diff.WithDefaults()
		if err := want.Validate(); err != nil {
			return nil, err
		}
		for {
			h.mu.RLock()
			if gc.GenConfig().WithDefaults() == want {
				break // generate under the read lock
			}
			h.mu.RUnlock()
			h.mu.Lock()
			err := gc.SetGenConfig(want)
			h.mu.Unlock()
			if err != nil {
				return nil, err
			}
		}
	} else {
		h.mu.RLock()
	}
	defer h.mu.RUnlock()
	g := &rollout.InProcess{Model: h.gen, Codec: h.tok, Renderer: rollout.TemplateRenderer{Template: tmpl}, MaxBatch: maxBatch}
	return g.Generate(ctx, req)
}
