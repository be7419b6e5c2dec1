package config

import (
	"math"
	"os"
	"reflect"
	"testing"
	"time"
)

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

const wantDefaultYAML = `seed: 1
name: run
rollout:
  temperature: 1
  max_tokens: 256
  timeout: 30s
  stop: null
reward:
  parts: [math]
  weights:
    math: 1
  alpha: auto
  plugin: null
stages:
  - name: rollout
    workers: 2
  - name: reward
    workers: 1
train:
  steps: 100
  lr: 0.0001
  save: true
`

func TestMarshalWritesEveryDefault(t *testing.T) {
	c := defaultTestConfig()
	b, err := Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != wantDefaultYAML {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, wantDefaultYAML)
	}
}

func TestMarshalRoundTrips(t *testing.T) {
	custom := defaultTestConfig()
	custom.Name = "true" // a string YAML would read as a bool unless quoted
	custom.Rollout = testRollout{Temperature: 0.1 + 0.2, MaxTokens: math.MaxInt32, Timeout: 1500 * time.Millisecond, Stop: []string{"\n\n", "</s>"}}
	custom.Reward = testReward{Parts: []string{}, Weights: map[string]float64{"b": 2, "a": 1e-300}, Alpha: Fixed(0.5), Plugin: &testPlugin{Cmd: "multi\nline", Retries: 2}}
	custom.Stages = nil
	custom.Train.LR = math.SmallestNonzeroFloat64
	tests := []struct {
		name string
		cfg  testConfig
	}{
		{"the defaults", defaultTestConfig()},
		{"a config with awkward values", custom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var back testConfig
			if err := Load(&back, doc(string(b)), nil); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !reflect.DeepEqual(back, tc.cfg) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v\nyaml:\n%s", back, tc.cfg, b)
			}
			again, err := Marshal(&back)
			if err != nil || string(again) != string(b) {
				t.Errorf("second Marshal differs (err %v):\n%s", err, again)
			}
		})
	}
}

func TestHashIgnoresOnlyExcludedPaths(t *testing.T) {
	base := defaultTestConfig()
	h := Hash(&base, "train.steps")
	if len(h) != 64 || Hash(base, "train.steps") != h {
		t.Fatalf("Hash is not a stable sha256 hex: %q", h)
	}
	tests := []struct {
		name   string
		change func(c *testConfig)
		same   bool
	}{
		{"changing an excluded key keeps the hash", func(c *testConfig) { c.Train.Steps = 5000 }, true},
		{"changing another key in the same section changes it", func(c *testConfig) { c.Train.LR = 1e-3 }, false},
		{"changing a map entry changes it", func(c *testConfig) { c.Reward.Weights = map[string]float64{"math": 2} }, false},
		{"changing a keyword to a value changes it", func(c *testConfig) { c.Reward.Alpha = Fixed(0.0) }, false},
		{"rebuilding an equal map keeps it", func(c *testConfig) { c.Reward.Weights = map[string]float64{"math": 1} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultTestConfig()
			tc.change(&c)
			if got := Hash(&c, "train.steps", "no.such.path"); (got == h) != tc.same {
				t.Errorf("hash equal = %v, want %v", got == h, tc.same)
			}
		})
	}
	if Hash(&base) == h {
		t.Error("excluding train.steps did not change the hash of the full config")
	}
}

func TestMarshalRejectsUnsupportedTypes(t *testing.T) {
	type bad struct {
		F func() `yaml:"f"`
	}
	if _, err := Marshal(bad{F: func() {}}); err == nil || err.Error() != "config: f: cannot marshal a func()" {
		t.Errorf("Marshal() error = %v", err)
	}
}

func TestOrAutoGet(t *testing.T) {
	if AutoValue[int]().Get(7) != 7 || Fixed(3).Get(7) != 3 {
		t.Error("Get does not pick the default only for auto")
	}
	if AutoValue[float64]().String() != "auto" || Fixed(0.5).String() != "0.5" {
		t.Error("String does not print auto or the value")
	}
}
