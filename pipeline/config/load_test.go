package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func doc(s string) []Doc { return []Doc{{Name: "run.yaml", Data: []byte(s)}} }

func TestLoadMergesOverDefaults(t *testing.T) {
	tests := []struct {
		name  string
		docs  []Doc
		sets  []string
		check func(c *testConfig) bool
	}{
		{"no input keeps every default", nil, nil, func(c *testConfig) bool {
			return reflect.DeepEqual(*c, defaultTestConfig())
		}},
		{"a nested key changes only that field", doc("rollout:\n  temperature: 0.7\n"), nil, func(c *testConfig) bool {
			return c.Rollout.Temperature == 0.7 && c.Rollout.MaxTokens == 256 && c.Rollout.Timeout == 30*time.Second
		}},
		{"an inline key is at the top level", doc("seed: 42\n"), nil, func(c *testConfig) bool { return c.Seed == 42 }},
		{"an empty section keeps its defaults", doc("rollout:\ntrain:\n"), nil, func(c *testConfig) bool {
			return c.Rollout.MaxTokens == 256 && c.Train.Steps == 100
		}},
		{"maps merge key by key and null deletes", doc("reward:\n  weights: {format: 0.5}\n"), []string{"reward.weights.math=null"}, func(c *testConfig) bool {
			return reflect.DeepEqual(c.Reward.Weights, map[string]float64{"format": 0.5})
		}},
		{"lists are replaced", doc("stages:\n  - name: only\n"), nil, func(c *testConfig) bool {
			return reflect.DeepEqual(c.Stages, []testStage{{Name: "only"}})
		}},
		{"later files override earlier ones", []Doc{{"a.yaml", []byte("name: a\nseed: 3\n")}, {"b.yaml", []byte("name: b\n")}}, nil, func(c *testConfig) bool {
			return c.Name == "b" && c.Seed == 3
		}},
		{"documents in one stream apply in order", doc("name: a\n---\nname: b\n"), nil, func(c *testConfig) bool { return c.Name == "b" }},
		{"aliases repeat an anchored node", doc("stages: [&s {name: a, workers: 3}, *s]\n"), nil, func(c *testConfig) bool {
			return reflect.DeepEqual(c.Stages, []testStage{{"a", 3}, {"a", 3}})
		}},
		{"merge keys are overridden by explicit keys", doc("rollout:\n  <<: {temperature: 0.2, max_tokens: 9}\n  max_tokens: 10\n"), nil, func(c *testConfig) bool {
			return c.Rollout.Temperature == 0.2 && c.Rollout.MaxTokens == 10
		}},
		{"sets apply after files", doc("train:\n  steps: 5\n"), []string{"train.steps=7"}, func(c *testConfig) bool { return c.Train.Steps == 7 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultTestConfig()
			if err := Load(&c, tc.docs, tc.sets); err != nil {
				t.Fatal(err)
			}
			if !tc.check(&c) {
				t.Errorf("unexpected result %+v", c)
			}
		})
	}
}

func TestSetOverrides(t *testing.T) {
	tests := []struct {
		name  string
		set   string
		check func(c *testConfig) bool
	}{
		{"a nested float", "rollout.temperature=0.5", func(c *testConfig) bool { return c.Rollout.Temperature == 0.5 }},
		{"a flow list", "reward.parts=[math,format]", func(c *testConfig) bool {
			return reflect.DeepEqual(c.Reward.Parts, []string{"math", "format"})
		}},
		{"a bool", "train.save=false", func(c *testConfig) bool { return !c.Train.Save }},
		{"a duration", "rollout.timeout=1m30s", func(c *testConfig) bool { return c.Rollout.Timeout == 90*time.Second }},
		{"a zero duration", "rollout.timeout=0", func(c *testConfig) bool { return c.Rollout.Timeout == 0 }},
		{"a map entry", "reward.weights.format=0.25", func(c *testConfig) bool {
			return c.Reward.Weights["format"] == 0.25 && c.Reward.Weights["math"] == 1
		}},
		{"a list item's field", "stages.1.workers=8", func(c *testConfig) bool {
			return c.Stages[1] == testStage{Name: "reward", Workers: 8}
		}},
		{"a new list item at the end", "stages.2.name=learner", func(c *testConfig) bool {
			return len(c.Stages) == 3 && c.Stages[2].Name == "learner"
		}},
		{"a keyword value", "reward.alpha=auto", func(c *testConfig) bool { return c.Reward.Alpha.IsAuto }},
		{"a number instead of a keyword", "reward.alpha=0.5", func(c *testConfig) bool { return c.Reward.Alpha == Fixed(0.5) }},
		{"a field of a nil pointer section", "reward.plugin.cmd=python3 verify.py", func(c *testConfig) bool {
			return c.Reward.Plugin != nil && c.Reward.Plugin.Cmd == "python3 verify.py"
		}},
		{"a whole section as a flow mapping", "reward.plugin={cmd: x, retries: 3}", func(c *testConfig) bool {
			return *c.Reward.Plugin == testPlugin{Cmd: "x", Retries: 3}
		}},
		{"an empty string", "name=", func(c *testConfig) bool { return c.Name == "" }},
		{"a string that looks like a number", "name='42'", func(c *testConfig) bool { return c.Name == "42" }},
		{"an inline field", "seed=9", func(c *testConfig) bool { return c.Seed == 9 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultTestConfig()
			if err := Load(&c, nil, []string{tc.set}); err != nil {
				t.Fatal(err)
			}
			if !tc.check(&c) {
				t.Errorf("--set %s gave %+v", tc.set, c)
			}
		})
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		sets []string
		want string
	}{
		{"an unknown top-level key", "nmae: x\n", nil, `config: run.yaml:1: unknown key "nmae" (did you mean "name"?)`},
		{"an unknown nested key", "seed: 1\nrollout:\n  temprature: 0.7\n", nil, `config: run.yaml:3: unknown key "rollout.temprature" (did you mean "temperature"?)`},
		{"an unknown key in a list item", "stages:\n  - name: a\n    wrokers: 2\n", nil, `config: run.yaml:3: unknown key "stages.0.wrokers" (did you mean "workers"?)`},
		{"an unknown key in a pointer section", "reward:\n  plugin:\n    command: x\n", nil, `config: run.yaml:3: unknown key "reward.plugin.command"`},
		{"an unknown key far from any known one", "train:\n  zzzzzzzz: 1\n", nil, `config: run.yaml:2: unknown key "train.zzzzzzzz"`},
		{"a duplicate key", "name: a\nname: b\n", nil, `config: run.yaml:2: name: duplicate key`},
		{"a word for a number", "rollout:\n  temperature: warm\n", nil, `config: run.yaml:2: rollout.temperature: cannot use "warm" as number`},
		{"a fraction for an integer", "rollout:\n  max_tokens: 1.5\n", nil, `config: run.yaml:2: rollout.max_tokens: cannot use "1.5" as integer`},
		{"a bare number for a duration", "rollout:\n  timeout: 30\n", nil, `config: run.yaml:2: rollout.timeout: cannot use "30" as a duration (want e.g. 30s, 5m, 1h30m)`},
		{"a scalar for a list", "reward:\n  parts: math\n", nil, `config: run.yaml:2: reward.parts: want a list, got a scalar "math"`},
		{"a list for a section", "train: [1]\n", nil, `config: run.yaml:1: train: want a mapping, got a list`},
		{"a bad keyword", "reward:\n  alpha: fast\n", nil, `config: run.yaml:2: reward.alpha: cannot use "fast" as float64 or "auto"`},
		{"a null scalar", "train:\n  lr:\n", nil, `config: run.yaml:2: train.lr: empty value`},
		{"a YAML syntax error", "train: [\n", nil, `config: run.yaml: yaml: line 1: did not find expected node content`},
		{"an unknown --set key", "", []string{"rollout.temprature=0.7"}, `config: --set rollout.temprature=0.7: unknown key "rollout.temprature" (did you mean "temperature"?)`},
		{"an unknown --set key below a scalar", "", []string{"train.lr.x=1"}, `config: --set train.lr.x=1: unknown key "train.lr.x"`},
		{"a bad --set duration", "", []string{"rollout.timeout=soon"}, `config: --set rollout.timeout=soon: rollout.timeout: cannot use "soon" as a duration (want e.g. 30s, 5m, 1h30m)`},
		{"a bad --set bool", "", []string{"train.save=maybe"}, `config: --set train.save=maybe: train.save: cannot use "maybe" as boolean`},
		{"a --set list index past the end", "", []string{"stages.5.name=x"}, `config: --set stages.5.name=x: stages.5: no list item "5" (the list has 2)`},
		{"a --set without =", "", []string{"train.steps"}, `config: --set train.steps: want key=value`},
		{"a --set with an empty segment", "", []string{"train..steps=1"}, `config: --set train..steps=1: bad key "train..steps": empty segment`},
		{"a failing Validate on a list item", "stages:\n  - {name: a, workers: -1}\n", nil, `config: stages.0: workers must be >= 0`},
		{"a failing Validate on a pointer section", "", []string{"reward.plugin.retries=2"}, `config: reward.plugin: cmd is required`},
		{"a failing Validate on a section", "rollout: {temperature: -1}\n", nil, `config: rollout: temperature must be >= 0`},
		{"a failing Validate on the root", "train: {steps: 0}\n", nil, `config: train.steps must be >= 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultTestConfig()
			var docs []Doc
			if tc.yaml != "" {
				docs = doc(tc.yaml)
			}
			err := Load(&c, docs, tc.sets)
			if err == nil {
				t.Fatalf("Load succeeded, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%v is not a *config.Error", err)
			}
			if strings.Contains(tc.want, "unknown key") != errors.Is(err, ErrUnknownKey) {
				t.Errorf("errors.Is(err, ErrUnknownKey) = %v", errors.Is(err, ErrUnknownKey))
			}
		})
	}
}

func TestLoadFilesReadsFiles(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/run.yaml"
	if err := writeFile(p, "train:\n  steps: 3\n  bogus: 1\n"); err != nil {
		t.Fatal(err)
	}
	c := defaultTestConfig()
	err := LoadFiles(&c, []string{p}, nil)
	if err == nil || err.Error() != `config: `+p+`:3: unknown key "train.bogus"` {
		t.Fatalf("LoadFiles() = %v", err)
	}
	if err := LoadFiles(&c, []string{dir + "/missing.yaml"}, nil); err == nil {
		t.Fatal("LoadFiles of a missing file succeeded")
	}
}

// optionalTree has an optional number, as objective.LossConfig's clip
// bounds: nil is "unset", so an explicit 0 must survive decoding.
type optionalTree struct {
	Clip *float64 `yaml:"clip"`
}

func TestOptionalNumbersKeepZeroAndDoNotWriteThroughSharedPointers(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs []Doc
		sets []string
		want *float64 // nil: unset
	}{
		{"a YAML zero is set, not unset", doc("clip: 0\n"), nil, new(0.0)},
		{"a --set zero is set, not unset", nil, []string{"clip=0"}, new(0.0)},
		{"null unsets", doc("clip: null\n"), nil, nil},
		{"a value replaces the default", nil, []string{"clip=0.5"}, new(0.5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			def := 0.28
			shared := optionalTree{Clip: &def}
			c := shared // a copy sharing the pointee, as a preset and a run config do
			if err := Load(&c, tc.docs, tc.sets); err != nil {
				t.Fatal(err)
			}
			if (c.Clip == nil) != (tc.want == nil) || (c.Clip != nil && *c.Clip != *tc.want) {
				t.Errorf("clip = %v, want %v", c.Clip, tc.want)
			}
			if def != 0.28 || shared.Clip != &def {
				t.Errorf("decoding wrote through the shared pointer: default is now %v", def)
			}
		})
	}
}
