package config_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/rlpipe/rlpipe/pipeline/config"
)

type Rollout struct {
	Temperature float64            `yaml:"temperature"`
	Timeout     time.Duration      `yaml:"timeout"`
	Alpha       config.FloatOrAuto `yaml:"alpha"`
}

func (r Rollout) Validate() error {
	if r.Temperature < 0 {
		return errors.New("temperature must be >= 0")
	}
	return nil
}

type Run struct {
	Seed    uint64  `yaml:"seed"`
	Rollout Rollout `yaml:"rollout"`
}

// Defaults first, then files, then --set flags; unknown keys are errors.
func ExampleLoad() {
	cfg := Run{Seed: 1, Rollout: Rollout{Temperature: 1, Timeout: 30 * time.Second, Alpha: config.AutoValue[float64]()}}
	file := config.Doc{Name: "run.yaml", Data: []byte("rollout:\n  temperature: 0.7\n")}
	if err := config.Load(&cfg, []config.Doc{file}, []string{"rollout.timeout=1m", "rollout.alpha=0.5"}); err != nil {
		fmt.Println(err)
		return
	}
	out, _ := config.Marshal(cfg)
	fmt.Print(string(out))

	bad := config.Doc{Name: "run.yaml", Data: []byte("seed: 2\nrollout:\n  temprature: 0.7\n")}
	fmt.Println(config.Load(&cfg, []config.Doc{bad}, nil))
	// Output:
	// seed: 1
	// rollout:
	//   temperature: 0.7
	//   timeout: 1m0s
	//   alpha: 0.5
	// config: run.yaml:3: unknown key "rollout.temprature" (did you mean "temperature"?)
}
