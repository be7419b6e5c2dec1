package optim

import (
	"fmt"
	"math"
)

// Defaults of AdamWConfig, applied to zero fields by WithDefaults.
const (
	DefaultLR          = 1e-3
	DefaultBeta1       = 0.9
	DefaultBeta2       = 0.999
	DefaultEps         = 1e-8
	DefaultWeightDecay = 0.01
)

// AdamWConfig configures AdamW. The zero value is usable: every zero field
// takes its default (LR 1e-3, Beta1 0.9, Beta2 0.999, Eps 1e-8,
// WeightDecay 0.01). To turn weight decay off set WeightDecay negative
// (NoWeightDecay) or mark params NoDecay.
type AdamWConfig struct {
	// LR is the peak learning rate; schedules scale it, Step receives the
	// scheduled value.
	LR float64 `yaml:"lr" json:"lr"`
	// Beta1 and Beta2 are the decay rates of the first and second moment.
	Beta1 float64 `yaml:"beta1" json:"beta1"`
	Beta2 float64 `yaml:"beta2" json:"beta2"`
	// Eps is added to sqrt(v̂) in the denominator.
	Eps float64 `yaml:"eps" json:"eps"`
	// WeightDecay is the decoupled decay coefficient λ; a negative value
	// means no decay.
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
}

// NoWeightDecay is the WeightDecay value that disables decay (zero means
// "default").
const NoWeightDecay = -1

// WithDefaults returns c with zero fields replaced by their defaults and a
// negative WeightDecay replaced by 0.
func (c AdamWConfig) WithDefaults() AdamWConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.LR, DefaultLR)
	def(&c.Beta1, DefaultBeta1)
	def(&c.Beta2, DefaultBeta2)
	def(&c.Eps, DefaultEps)
	def(&c.WeightDecay, DefaultWeightDecay)
	if c.WeightDecay < 0 {
		c.WeightDecay = 0
	}
	return c
}

// Validate reports a field outside its range (after defaults): LR > 0,
// Beta1 and Beta2 in [0, 1), Eps > 0, all finite.
func (c AdamWConfig) Validate() error {
	c = c.WithDefaults()
	bad := func(name string, v float64, want string) error {
		return fmt.Errorf("optim: adamw field %q = %v: want %s", name, v, want)
	}
	switch {
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("lr", c.LR, "finite > 0")
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return bad("beta1", c.Beta1, "in [0, 1)")
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return bad("beta2", c.Beta2, "in [0, 1)")
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return bad("eps", c.Eps, "finite > 0")
	case math.IsNaN(c.WeightDecay) || math.IsInf(c.WeightDecay, 0):
		return bad("weight_decay", c.WeightDecay, "finite")
	}
	return nil
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019,
// "Decoupled Weight Decay Regularization"). For each element, at step t
// (1-based):
//
//	m = β1·m + (1-β1)·g
//	v = β2·v + (1-β2)·g²
//	m̂ = m/(1-β1^t),  v̂ = v/(1-β2^t)
//	w -= lr·( m̂/(sqrt(v̂)+ε) + λ·w )      (λ = 0 for NoDecay params)
//
// Arithmetic is float64 per element; moments are stored as float32.
// An AdamW is bound to one parameter list (names and sizes) by its first
// Step, Bind or Load. It is not safe for concurrent use.
type AdamW struct {
	cfg   AdamWConfig
	step  int64
	names []string
	m, v  [][]float32
}

// NewAdamW returns an optimizer with cfg's defaults applied, or the error
// of cfg.Validate.
func NewAdamW(cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &AdamW{cfg: cfg.WithDefaults()}, nil
}

// Config returns the configuration with defaults applied.
func (o *AdamW) Config() AdamWConfig { return o.cfg }

// Steps returns the number of Steps taken (including those restored by
// Load).
func (o *AdamW) Steps() int64 { return o.step }

// Bind allocates zero moments for params, fixing the names and sizes the
// optimizer accepts from now on. It fails if names are empty or duplicated,
// a Value/Grad length pair differs, or the optimizer is already bound.
func (o *AdamW) Bind(params []Param) error {
	if o.names != nil {
		return fmt.Errorf("optim: adamw already bound to %d params", len(o.names))
	}
	if err := checkParams(params); err != nil {
		return err
	}
	o.names = make([]string, len(params))
	o.m = make([][]float32, len(params))
	o.v = make([][]float32, len(params))
	for i, p := range params {
		o.names[i] = p.Name
		o.m[i] = make([]float32, len(p.Value))
		o.v[i] = make([]float32, len(p.Value))
	}
	return nil
}

// Step applies one AdamW update with learning rate lr to every param's
// Value in place, using its Grad. The first call binds params (see Bind).
// It allocates nothing after binding. It panics ("optim: ...") if params
// differ in count, order, names or sizes from the bound list, which is a
// programming error.
func (o *AdamW) Step(params []Param, lr float64) {
	if o.names == nil {
		if err := o.Bind(params); err != nil {
			panic(err.Error())
		}
	}
	o.mustMatch(params)
	o.step++
	t := float64(o.step)
	b1, b2 := o.cfg.Beta1, o.cfg.Beta2
	c1 := 1 / (1 - math.Pow(b1, t))
	c2 := 1 / (1 - math.Pow(b2, t))
	for i, p := range params {
		wd := o.cfg.WeightDecay
		if p.NoDecay {
			wd = 0
		}
		adamwKernel(p.Value, p.Grad, o.m[i], o.v[i], lr, b1, b2, c1, c2, o.cfg.Eps, wd)
	}
}

// adamwKernel updates one tensor; all slices have equal length.
// c1 and c2 are the inverse bias corrections 1/(1-β^t).
func adamwKernel(w, g, m, v []float32, lr, b1, b2, c1, c2, eps, wd float64) {
	g = g[:len(w)]
	m = m[:len(w)]
	v = v[:len(w)]
	for j, wj := range w {
		gj := float64(g[j])
		mj := b1*float64(m[j]) + (1-b1)*gj
		vj := b2*float64(v[j]) + (1-b2)*gj*gj
		m[j], v[j] = float32(mj), float32(vj)
		w64 := float64(wj)
		w[j] = float32(w64 - lr*(mj*c1/(math.Sqrt(vj*c2)+eps)+wd*w64))
	}
}

func (o *AdamW) mustMatch(params []Param) {
	if len(params) != len(o.names) {
		panic(fmt.Sprintf("optim: adamw bound to %d params, Step got %d", len(o.names), len(params)))
	}
	for i, p := range params {
		if p.Name != o.names[i] || len(p.Value) != len(o.m[i]) || len(p.Grad) != len(p.Value) {
			panic(fmt.Sprintf("optim: param %d %q (%d values, %d grads) does not match bound %q (%d values)",
				i, p.Name, len(p.Value), len(p.Grad), o.names[i], len(o.m[i])))
		}
	}
}
