package config

import (
	"errors"
	"time"
)

// The test tree mimics a run config: nested sections, an inline struct, a
// list of structs, a map, a pointer section, a duration and an OrAuto.

type testCommon struct {
	Seed uint64 `yaml:"seed"`
}

type testRollout struct {
	Temperature float64       `yaml:"temperature"`
	MaxTokens   int           `yaml:"max_tokens"`
	Timeout     time.Duration `yaml:"timeout"`
	Stop        []string      `yaml:"stop,omitempty"`
}

func (r testRollout) Validate() error {
	if r.Temperature < 0 {
		return errors.New("temperature must be >= 0")
	}
	return nil
}

type testPlugin struct {
	Cmd     string `yaml:"cmd"`
	Retries int    `yaml:"retries"`
}

func (p *testPlugin) Validate() error {
	if p.Cmd == "" {
		return errors.New("cmd is required")
	}
	return nil
}

type testReward struct {
	Parts   []string           `yaml:"parts"`
	Weights map[string]float64 `yaml:"weights"`
	Alpha   FloatOrAuto        `yaml:"alpha"`
	Plugin  *testPlugin        `yaml:"plugin"`
}

type testStage struct {
	Name    string `yaml:"name"`
	Workers int    `yaml:"workers"`
}

func (s testStage) Validate() error {
	if s.Workers < 0 {
		return errors.New("workers must be >= 0")
	}
	return nil
}

type testTrain struct {
	Steps int     `yaml:"steps"`
	LR    float64 `yaml:"lr"`
	Save  bool    `yaml:"save"`
}

type testConfig struct {
	testCommon `yaml:",inline"`
	Name       string      `yaml:"name"`
	Rollout    testRollout `yaml:"rollout"`
	Reward     testReward  `yaml:"reward"`
	Stages     []testStage `yaml:"stages"`
	Train      testTrain   `yaml:"train"`
}

func (c *testConfig) Validate() error {
	if c.Train.Steps < 1 {
		return errors.New("train.steps must be >= 1")
	}
	return nil
}

func defaultTestConfig() testConfig {
	return testConfig{
		testCommon: testCommon{Seed: 1},
		Name:       "run",
		Rollout:    testRollout{Temperature: 1, MaxTokens: 256, Timeout: 30 * time.Second},
		Reward: testReward{
			Parts:   []string{"math"},
			Weights: map[string]float64{"math": 1},
			Alpha:   AutoValue[float64](),
		},
		Stages: []testStage{{Name: "rollout", Workers: 2}, {Name: "reward", Workers: 1}},
		Train:  testTrain{Steps: 100, LR: 1e-4, Save: true},
	}
}
