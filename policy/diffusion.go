package policy

import (
	"fmt"
	"maps"

	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// MaskToken is the id the diffusion model reads at masked positions
// (tokenizer.Mask).
const MaskToken = tokenizer.Mask

// DiffusionModel is a LLaDA-style masked diffusion language model: the same
// pre-LN transformer as Model, with bidirectional attention, over the
// canvas prompt ⧺ completion in which some completion tokens are replaced by
// MaskToken. Position i predicts token i (no shift): the output row of a
// masked position is the model's distribution over the token hidden there.
//
// Training: AccumulateMaskedLM (SFT, LLaDA's objective) and AccumulateELBO
// (RL through a sequence-level ELBO estimate, GDPO / diffu-GRPO, ALGORITHMS
// §3). Scoring: ELBO. Sampling: Generate (iterative low-confidence
// unmasking, configured by DiffusionGenConfig).
//
// Weights, gradients, graph caching and the concurrency rules are those of
// the underlying Model: ELBO, AccumulateELBO and AccumulateMaskedLM
// serialise on a mutex; Generate only reads the weights (any number of
// concurrent calls while nobody changes them); optimizer steps, ZeroGrad,
// SetGenConfig and Load/Save must not overlap Generate or each other.
type DiffusionModel struct {
	net *Model
	gen DiffusionGenConfig
	// chunkRows bounds the canvases of one forward graph (tests lower it to
	// exercise the chunked paths); 0 means maxCanvasRows.
	chunkRows int
}

// maxCanvasRows is the default number of canvases run through one graph:
// it bounds the logits buffer at maxCanvasRows·T·V floats.
const maxCanvasRows = 128

// NewDiffusionModel returns a freshly initialised diffusion model for cfg
// (defaults applied; see NewModel for the deterministic initialisation).
// cfg.Causal is ignored and forced to false: a masked diffusion LM attends
// both ways. The generation config starts at its defaults.
func NewDiffusionModel(cfg Config) (*DiffusionModel, error) {
	cfg.Causal = false
	m, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	return &DiffusionModel{net: m}, nil
}

// Config returns the model configuration (defaults applied, Causal false).
func (m *DiffusionModel) Config() Config { return m.net.cfg }

// GenConfig returns the sampling configuration Generate uses.
func (m *DiffusionModel) GenConfig() DiffusionGenConfig { return m.gen }

// SetGenConfig validates c and makes Generate use it. It must not be called
// while Generate runs.
func (m *DiffusionModel) SetGenConfig(c DiffusionGenConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	m.gen = c
	return nil
}

// Params returns the trainable tensors, aliasing the weights and gradient
// buffers (see Model.Params).
func (m *DiffusionModel) Params() []optim.Param { return m.net.Params() }

// ZeroGrad sets every gradient buffer to zero.
func (m *DiffusionModel) ZeroGrad() { m.net.ZeroGrad() }

// NumParams returns the number of scalar weights.
func (m *DiffusionModel) NumParams() int { return m.net.NumParams() }

// Clone returns a deep copy of weights, gradients and the generation config
// (e.g. the frozen old or reference policy of GDPO), a *DiffusionModel with
// its own graph cache.
func (m *DiffusionModel) Clone() Trainable { return m.clone() }

// clone is Clone with the concrete type.
func (m *DiffusionModel) clone() *DiffusionModel {
	return &DiffusionModel{net: m.net.clone(), gen: m.gen, chunkRows: m.chunkRows}
}

// Save writes the weights like Model.Save, with MetaModelKind set to
// "diffusion" so that Load (autoregressive) refuses the file. meta is not
// modified; a MetaModelKind entry in it is overwritten.
func (m *DiffusionModel) Save(path string, meta map[string]string) error {
	md := maps.Clone(meta)
	if md == nil {
		md = map[string]string{}
	}
	md[MetaModelKind] = ModelKindDiffusion
	return m.net.Save(path, md)
}

// LoadDiffusion reads a model written by DiffusionModel.Save and returns it
// with the file's metadata. A file without MetaModelKind "diffusion" (e.g.
// an autoregressive Model's) is refused with ErrConfig, as is a diffusion
// file whose config claims causal attention. The generation config starts
// at its defaults.
func LoadDiffusion(path string) (*DiffusionModel, map[string]string, error) {
	net, meta, err := loadWeights(path)
	if err != nil {
		return nil, nil, err
	}
	if k := meta[MetaModelKind]; k != ModelKindDiffusion {
		if k == "" {
			k = ModelKindAutoregressive
		}
		return nil, nil, fmt.Errorf("%w: load %s: model kind %q is not %q (use Load for autoregressive models)",
			ErrConfig, path, k, ModelKindDiffusion)
	}
	if net.cfg.Causal {
		return nil, nil, fmt.Errorf("%w: load %s: diffusion model config has causal attention", ErrConfig, path)
	}
	return &DiffusionModel{net: net}, meta, nil
}

// chunk returns the number of canvases per forward graph.
func (m *DiffusionModel) chunk() int {
	if m.chunkRows > 0 {
		return m.chunkRows
	}
	return maxCanvasRows
}
