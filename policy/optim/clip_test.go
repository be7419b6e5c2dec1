package optim

import (
	"math"
	"testing"
)

func TestClipGradNorm(t *testing.T) {
	tests := []struct {
		name     string
		grads    [][]float32
		maxNorm  float64
		wantNorm float64
		want     [][]float32
	}{
		{"a norm below the limit leaves gradients alone", [][]float32{{3}, {4}}, 10, 5, [][]float32{{3}, {4}}},
		{"a norm above the limit is scaled down to it across params", [][]float32{{3}, {4}}, 1, 5, [][]float32{{0.6}, {0.8}}},
		{"a norm equal to the limit is not scaled", [][]float32{{3, 4}}, 5, 5, [][]float32{{3, 4}}},
		{"a zero limit disables clipping", [][]float32{{30, 40}}, 0, 50, [][]float32{{30, 40}}},
		{"a negative limit disables clipping", [][]float32{{30, 40}}, -1, 50, [][]float32{{30, 40}}},
		{"all-zero gradients report zero", [][]float32{{0, 0}, {}}, 1, 0, [][]float32{{0, 0}, {}}},
		{"float32 overflow in squares is avoided by float64", [][]float32{{3e20, 4e20}}, 1e20, 5e20, [][]float32{{0.6e20, 0.8e20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := make([]Param, len(tt.grads))
			for i, g := range tt.grads {
				params[i] = Param{Name: string(rune('a' + i)), Grad: append([]float32(nil), g...)}
			}
			if got := ClipGradNorm(params, tt.maxNorm); !close(got, tt.wantNorm, 0, 1e-7) {
				t.Fatalf("norm before = %v, want %v", got, tt.wantNorm)
			}
			for i, p := range params {
				for j, g := range p.Grad {
					if !close(float64(g), float64(tt.want[i][j]), 0, 1e-6) {
						t.Errorf("grad[%d][%d] = %v, want %v", i, j, g, tt.want[i][j])
					}
				}
			}
		})
	}
	t.Run("a NaN gradient reports NaN and changes nothing", func(t *testing.T) {
		p := []Param{{Name: "a", Grad: []float32{float32(math.NaN()), 100}}}
		if n := ClipGradNorm(p, 1); !math.IsNaN(n) || p[0].Grad[1] != 100 {
			t.Fatalf("norm %v, grads %v", n, p[0].Grad)
		}
	})
	t.Run("an infinite gradient reports +Inf and changes nothing", func(t *testing.T) {
		p := []Param{{Name: "a", Grad: []float32{float32(math.Inf(-1)), 100}}}
		if n := ClipGradNorm(p, 1); !math.IsInf(n, 1) || p[0].Grad[1] != 100 {
			t.Fatalf("norm %v, grads %v", n, p[0].Grad)
		}
	})
	t.Run("a million small gradients sum to 1e-9 (float32 sums drift ~1e-4)", func(t *testing.T) {
		g := make([]float32, 1_000_000)
		for i := range g {
			g[i] = 1e-3
		}
		want := math.Sqrt(1e6 * float64(float32(1e-3)) * float64(float32(1e-3)))
		if n := GradNorm([]Param{{Name: "a", Grad: g}}); !close(n, want, 0, 1e-9) {
			t.Fatalf("GradNorm = %.15g, want %.15g", n, want)
		}
	})
}
