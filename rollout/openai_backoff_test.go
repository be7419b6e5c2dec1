package rollout

import (
	"testing"
	"time"
)

// TestOpenAIBackoffFollowsBaseAndMax checks the delay withRetry sleeps
// before each retry, on generators built from the configuration:
// rollout.openai.backoff_base sets the first delay (doubling per attempt)
// and rollout.openai.backoff_max caps it, even against a server's longer
// Retry-After. Timing the retries instead would make the test slow and
// flaky on a loaded machine.
func TestOpenAIBackoffFollowsBaseAndMax(t *testing.T) {
	cases := []struct {
		name    string
		cfg     OpenAIConfig
		attempt int
		after   time.Duration
		want    time.Duration
	}{
		{"the default base", OpenAIConfig{}, 0, 0, DefaultOpenAIBackoffBase},
		{"backoff_base sets the first delay", OpenAIConfig{BackoffBase: 10 * time.Millisecond}, 0, 0, 10 * time.Millisecond},
		{"backoff_base doubles per attempt", OpenAIConfig{BackoffBase: 10 * time.Millisecond}, 2, 0, 40 * time.Millisecond},
		{"the default cap", OpenAIConfig{}, 10, 0, DefaultOpenAIBackoffMax},
		{"backoff_max caps the doubling", OpenAIConfig{BackoffMax: time.Second}, 10, 0, time.Second},
		{"Retry-After raises the delay", OpenAIConfig{}, 0, 5 * time.Second, 5 * time.Second},
		{"backoff_max caps Retry-After", OpenAIConfig{BackoffMax: time.Second}, 0, 5 * time.Second, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := NewOpenAI(c.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.backoff(c.attempt, c.after); got != c.want {
				t.Errorf("backoff(attempt %d, Retry-After %v) = %v, want %v", c.attempt, c.after, got, c.want)
			}
		})
	}
}
