package reward

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// OnError is the policy for rows whose reward failed.
type OnError string

// The on_error policies.
const (
	// OnErrorDropGroup marks every row of a group with any failed row as
	// Dropped (the default).
	OnErrorDropGroup OnError = "drop_group"
	// OnErrorZero gives failed rows reward 0 and keeps the error text.
	OnErrorZero OnError = "zero"
	// OnErrorFail fails the batch on the first failed row.
	OnErrorFail OnError = "fail"
)

// Defaults applied by Config.Resolved.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxErrorRate = 0.1
	DefaultOnError      = OnErrorDropGroup
)

// PartConfig is one weighted component of a composite reward. Name is the
// key under which its value is recorded in reward_parts (default: Kind);
// Kind is the registered reward (default: Name). Weight multiplies the
// part's value in the total; a spec or YAML part without a weight gets 1,
// while a PartConfig built in Go must set it (0 records the part without
// counting it). Options are passed to the reward's Factory.
type PartConfig struct {
	Name    string  `yaml:"name,omitempty" json:"name,omitempty"`
	Kind    string  `yaml:"kind,omitempty" json:"kind,omitempty"`
	Weight  float64 `yaml:"weight" json:"weight"`
	Options Options `yaml:"options,omitempty" json:"options,omitempty"`
}

// UnmarshalYAML decodes a part, defaulting an absent weight to 1.
func (p *PartConfig) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Name    string   `yaml:"name"`
		Kind    string   `yaml:"kind"`
		Weight  *float64 `yaml:"weight"`
		Options Options  `yaml:"options"`
	}
	dec := yamlStrict(n)
	if err := dec(&raw); err != nil {
		return err
	}
	*p = PartConfig{Name: raw.Name, Kind: raw.Kind, Weight: 1, Options: raw.Options}
	if raw.Weight != nil {
		p.Weight = *raw.Weight
	}
	return nil
}

// Config configures a Scorer. The zero value is not usable alone: set Spec
// or Parts. Defaults (see Resolved): OnError drop_group, MaxErrorRate 0.1
// (0 means the default; 1 never fails), Timeout 10s per row, Workers
// GOMAXPROCS (rows scored in parallel by in-process rewards).
type Config struct {
	Spec         string        `yaml:"spec,omitempty" json:"spec,omitempty"`
	Parts        []PartConfig  `yaml:"parts,omitempty" json:"parts,omitempty"`
	OnError      OnError       `yaml:"on_error,omitempty" json:"on_error,omitempty"`
	MaxErrorRate float64       `yaml:"max_error_rate,omitempty" json:"max_error_rate,omitempty"`
	Timeout      time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Workers      int           `yaml:"workers,omitempty" json:"workers,omitempty"`
}

// Resolved returns c with Spec expanded into Parts (appended after any
// explicit Parts), names and kinds defaulted and every default written out.
func (c Config) Resolved() (Config, error) {
	r := c
	r.Parts = append([]PartConfig(nil), c.Parts...)
	if strings.TrimSpace(c.Spec) != "" {
		parts, err := ParseSpec(c.Spec)
		if err != nil {
			return Config{}, err
		}
		r.Parts = append(r.Parts, parts...)
		r.Spec = ""
	}
	for i := range r.Parts {
		p := &r.Parts[i]
		p.Name = cmp.Or(p.Name, p.Kind)
		p.Kind = cmp.Or(p.Kind, p.Name)
	}
	r.OnError = cmp.Or(r.OnError, DefaultOnError)
	r.MaxErrorRate = cmp.Or(r.MaxErrorRate, DefaultMaxErrorRate)
	r.Timeout = cmp.Or(r.Timeout, DefaultTimeout)
	if r.Workers == 0 {
		r.Workers = runtime.GOMAXPROCS(0)
	}
	return r, nil
}

// Validate reports the first problem with c (after resolving defaults),
// wrapping ErrConfig or ErrUnknown.
func (c Config) Validate() error {
	r, err := c.Resolved()
	if err != nil {
		return err
	}
	if len(r.Parts) == 0 {
		return fmt.Errorf("%w: no reward parts (set spec or parts)", ErrConfig)
	}
	seen := map[string]bool{}
	for i, p := range r.Parts {
		if !validName(p.Name) {
			return fmt.Errorf("%w: parts[%d]: invalid name %q", ErrConfig, i, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("%w: parts[%d]: duplicate name %q", ErrConfig, i, p.Name)
		}
		seen[p.Name] = true
		if _, ok := Lookup(p.Kind); !ok {
			return fmt.Errorf("parts[%d]: %w %q (registered: %v)", i, ErrUnknown, p.Kind, Names())
		}
		if math.IsNaN(p.Weight) || math.IsInf(p.Weight, 0) {
			return fmt.Errorf("%w: parts[%d] %q: weight %v", ErrConfig, i, p.Name, p.Weight)
		}
	}
	switch r.OnError {
	case OnErrorDropGroup, OnErrorZero, OnErrorFail:
	default:
		return fmt.Errorf("%w: on_error %q (want fail, drop_group or zero)", ErrConfig, r.OnError)
	}
	if !(r.MaxErrorRate > 0 && r.MaxErrorRate <= 1) {
		return fmt.Errorf("%w: max_error_rate %v outside (0, 1]", ErrConfig, c.MaxErrorRate)
	}
	if r.Timeout < 0 {
		return fmt.Errorf("%w: timeout %v is negative", ErrConfig, r.Timeout)
	}
	if r.Workers < 0 {
		return fmt.Errorf("%w: workers %d is negative", ErrConfig, r.Workers)
	}
	return nil
}

// LoadConfig decodes a YAML reward configuration, rejecting unknown keys.
// The document may be the Config itself or a larger file holding it under a
// top-level `reward:` key (other top-level keys are then ignored).
func LoadConfig(data []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	node := &doc
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		m := doc.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "reward" {
				node = m.Content[i+1]
			}
		}
	}
	var c Config
	if err := yamlStrict(node)(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return c, nil
}

// yamlStrict returns a decoder of n that rejects unknown fields, which
// yaml.Node.Decode alone does not.
func yamlStrict(n *yaml.Node) func(any) error {
	return func(v any) error {
		b, err := yaml.Marshal(n)
		if err != nil {
			return err
		}
		d := yaml.NewDecoder(bytes.NewReader(b))
		d.KnownFields(true)
		err = d.Decode(v)
		if err != nil && err.Error() == "EOF" {
			return nil
		}
		return err
	}
}

// ParseSpec parses a reward spec into parts. Forms:
//
//	math                              one registered reward, weight 1
//	0.9*math+0.1*format               weighted sum (negative: +-0.5*length)
//	length(max_len=4096,buffer=512)   options in parentheses
//	subprocess:python3 verifier.py    a subprocess plugin (takes the rest of the spec)
//	http:http://127.0.0.1:8080/score  an HTTP plugin (takes the rest of the spec)
//
// A plugin term may follow other terms (`0.8*math+0.2*http:URL`) but always
// extends to the end of the spec.
func ParseSpec(spec string) ([]PartConfig, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("%w: empty reward spec", ErrConfig)
	}
	var parts []PartConfig
	for s != "" {
		w, rest, err := specWeight(s)
		if err != nil {
			return nil, fmt.Errorf("%w: spec %q: %v", ErrConfig, spec, err)
		}
		if p, ok := pluginTerm(rest); ok {
			p.Weight = w
			parts = append(parts, p)
			break
		}
		end := topLevelPlus(rest)
		term := strings.TrimSpace(rest[:end])
		p, err := parseTerm(term)
		if err != nil {
			return nil, fmt.Errorf("%w: spec %q: %v", ErrConfig, spec, err)
		}
		p.Weight = w
		parts = append(parts, p)
		if end == len(rest) {
			break
		}
		s = strings.TrimSpace(rest[end+1:])
		if s == "" {
			return nil, fmt.Errorf("%w: spec %q: trailing '+'", ErrConfig, spec)
		}
	}
	return parts, nil
}

// specWeight splits an optional leading "number*" off s.
func specWeight(s string) (float64, string, error) {
	i := strings.IndexByte(s, '*')
	if i < 0 {
		return 1, s, nil
	}
	head := strings.TrimSpace(s[:i])
	w, err := strconv.ParseFloat(head, 64)
	if err != nil {
		// A '*' later in the spec (e.g. inside a plugin command) is not a weight.
		return 1, s, nil
	}
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return 0, "", fmt.Errorf("weight %q is not finite", head)
	}
	return w, strings.TrimSpace(s[i+1:]), nil
}

func pluginTerm(s string) (PartConfig, bool) {
	switch {
	case strings.HasPrefix(s, "subprocess:"):
		return PartConfig{Name: "subprocess", Kind: "subprocess", Options: Options{"command": strings.TrimSpace(s[len("subprocess:"):])}}, true
	case strings.HasPrefix(s, "http:"):
		return PartConfig{Name: "http", Kind: "http", Options: Options{"url": strings.TrimSpace(s[len("http:"):])}}, true
	}
	return PartConfig{}, false
}

func topLevelPlus(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '+':
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

// parseTerm parses `name` or `name(k=v,...)`.
func parseTerm(t string) (PartConfig, error) {
	name, args := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 {
		if !strings.HasSuffix(t, ")") {
			return PartConfig{}, fmt.Errorf("term %q: missing ')'", t)
		}
		name, args = strings.TrimSpace(t[:i]), t[i+1:len(t)-1]
	}
	if !validName(name) {
		return PartConfig{}, fmt.Errorf("term %q: invalid reward name", t)
	}
	p := PartConfig{Name: name, Kind: name}
	if strings.TrimSpace(args) == "" {
		return p, nil
	}
	p.Options = Options{}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return PartConfig{}, fmt.Errorf("term %q: option %q is not key=value", t, kv)
		}
		p.Options[k] = strings.TrimSpace(v)
	}
	return p, nil
}

// Redacted returns c with every literal http header value replaced by
// RedactedValue, for writing into run directories and logs: header values
// are typically credentials. Header names and headers_env (which names
// environment variables, not values) are kept.
func (c Config) Redacted() Config {
	r := c
	r.Parts = make([]PartConfig, len(c.Parts))
	for i, p := range c.Parts {
		r.Parts[i] = p
		h, err := stringMap(p.Options["headers"], "headers")
		if err != nil || len(h) == 0 {
			continue
		}
		opts := make(Options, len(p.Options))
		for k, v := range p.Options {
			opts[k] = v
		}
		red := make(map[string]any, len(h))
		for k := range h {
			red[k] = RedactedValue
		}
		opts["headers"] = red
		r.Parts[i].Options = opts
	}
	return r
}
