package chattemplate

import "testing"

// BenchmarkRender measures one prompt render per fixture for the
// six-message conversation, with the generation prompt (what rollout does
// per sample).
func BenchmarkRender(b *testing.B) {
	for _, name := range sortedKeys(fixtures) {
		tm := testdataFixture(b, name)
		msgs := conversations["multi-turn"]
		opt := Options{AddGenerationPrompt: true, Extra: map[string]any{"date_string": "26 Jul 2024"}}
		if _, err := tm.Render(msgs, opt); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tm.Render(msgs, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse measures compiling the largest real template (Qwen3's).
func BenchmarkParse(b *testing.B) {
	src := testdataFixture(b, "qwen3").Source()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
