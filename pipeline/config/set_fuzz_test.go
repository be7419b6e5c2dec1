package config

import (
	"strings"
	"testing"
)

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{
		"a.b.c=1", "reward.parts=[math,format]", "x.y=0.5", "x=", "=1", "a..b=1",
		"rollout.timeout=30s", "reward.plugin={cmd: x}", "name='42'", "k=[", "stages.7.name=x",
		"reward.weights.math=null", "a=b=c", "a=#c", "k=\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		key, val, err := ParseSet(arg)
		if err != nil {
			return
		}
		if key == "" || val == nil || strings.Contains(key, "=") || strings.Contains(key, "..") ||
			strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") {
			t.Fatalf("ParseSet(%q) = %q, %v", arg, key, val)
		}
		// Applying any parsed argument must fail cleanly or succeed.
		c := defaultTestConfig()
		_ = ApplySet(&c, arg)
		_ = Validate(&c)
	})
}
