package pipeline

import (
	"fmt"
	"sync"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/rollout"
)

// generators owns the run's rollout backends: the OpenAI-compatible server
// (rollout.kind openai), the Flight rollout workers
// (distributed.rollout_workers) with one generator per policy version, or
// else in-process generation. forVersion is safe for concurrent use.
type generators struct {
	tmpl   data.Template
	openai *rollout.OpenAIConfig // rollout.kind openai; remote is built from it with the policy's tokenizer
	remote *rollout.OpenAI
	flight *flight.RolloutPool

	mu       sync.Mutex
	versions map[int64]*flight.Generator // Flight generators by policy version
}

// newGenerators connects the configured rollout backends; close releases
// them.
func newGenerators(cfg RunConfig, mem memory.Allocator) (*generators, error) {
	g := localGenerators(cfg.Data.Template)
	if cfg.Rollout.Kind == RolloutOpenAI {
		// Checked now, built on first use: the codec is the policy's
		// tokenizer, which the train state loads later.
		if err := cfg.Rollout.OpenAI.Validate(); err != nil {
			return nil, err
		}
		oc := cfg.Rollout.OpenAI
		g.openai = &oc
	}
	if w := cfg.Distributed.RolloutWorkers; len(w) > 0 {
		pool, err := flight.NewRolloutPool(w, flightOptions(cfg, mem)...)
		if err != nil {
			g.close()
			return nil, err
		}
		g.flight, g.versions = pool, map[int64]*flight.Generator{}
	}
	return g, nil
}

// localGenerators generates in process only, rendering prompts with the
// named template (data.template).
func localGenerators(template string) *generators {
	tmpl, _ := data.TemplateByName(template)
	return &generators{tmpl: tmpl}
}

// flightOptions are the options of the run's Flight pools.
func flightOptions(cfg RunConfig, mem memory.Allocator) []flight.Option {
	tmpl, _ := data.TemplateByName(cfg.Data.Template)
	opts := []flight.Option{flight.WithAllocator(mem), flight.WithTemplate(tmpl), flight.WithDiffusion(cfg.Policy.Diffusion.Gen)}
	if t := cfg.Distributed.RequestTimeout; t > 0 {
		opts = append(opts, flight.WithRequestTimeout(t))
	}
	return opts
}

func (g *generators) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.remote != nil {
		g.remote.Close()
	}
	if g.flight != nil {
		g.flight.Close()
	}
}

// forVersion returns the generator for the weights snapshot model of a
// policy version of pol: the OpenAI-compatible server when configured, the
// Flight rollout workers (which receive the snapshot once per version,
// with pol's tokenizer), else an in-process generator.
func (g *generators) forVersion(pol *policyfile.Policy, model policy.Trainable, version int64) generator {
	switch {
	case g.openai != nil:
		return g.remoteFor(pol)
	case g.flight != nil:
		g.mu.Lock()
		defer g.mu.Unlock()
		if fg, ok := g.versions[version]; ok {
			return fg
		}
		// Rollouts of version v-1 may still be running (max_staleness 1).
		for v := range g.versions {
			if v < version-1 {
				delete(g.versions, v)
			}
		}
		// RunConfig.Validate keeps families with their own tokenizer off
		// the Flight workers.
		meta := map[string]string{}
		if bt, err := pol.ByteTokenizer(); err == nil {
			meta[flight.MetaTokenizer] = bt.Spec()
		}
		fg := g.flight.Generator(version, flight.WeightsFunc(model, meta))
		g.versions[version] = fg
		return fg
	}
	return g.inProcess(pol, model)
}

// remoteFor returns the OpenAI-compatible generator, built on first use
// with pol's tokenizer (completion and prompt tokens for training) and,
// when pol has its own chat template, pol's prompt renderer for the
// configured template, so that the server continues the text training
// scores.
func (g *generators) remoteFor(pol *policyfile.Policy) generator {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.remote == nil {
		remote, err := rollout.NewOpenAI(*g.openai, pol.Tokenizer)
		if err != nil { // validated in newGenerators
			panic(fmt.Sprintf("pipeline: rollout.openai: %v", err))
		}
		if pol.Chat != nil {
			remote.SetRenderer(pol.PromptRenderer(g.openai.PromptTemplate()))
		}
		g.remote = remote
	}
	return g.remote
}

// inProcess returns an in-process generator over model (pol's weights or a
// snapshot of them) with pol's tokenizer.
func (g *generators) inProcess(pol *policyfile.Policy, model policy.Trainable) *rollout.InProcess {
	return &rollout.InProcess{Model: model, Codec: pol.Tokenizer, Renderer: pol.PromptRenderer(g.tmpl)}
}
