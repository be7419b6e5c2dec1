package reward_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/reward/rewardtest"
)

func mustNew(t testing.TB, kind string, opts reward.Options) reward.Func {
	t.Helper()
	f, err := reward.New(kind, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBuiltinsConform(t *testing.T) {
	for _, tc := range []struct {
		kind string
		opts reward.Options
	}{
		{"math", nil}, {"gsm8k", nil}, {"countdown", nil}, {"format", nil},
		{"length", reward.Options{"max_len": 20, "buffer": 10}},
		{"exact", nil}, {"regex", reward.Options{"pattern": `\\boxed\{{answer}\}`}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			rewardtest.Run(t, func() reward.Func { return mustNew(t, tc.kind, tc.opts) })
		})
	}
}

func TestScorerConforms(t *testing.T) {
	rewardtest.Run(t, func() reward.Func {
		s, err := reward.NewScorer(reward.Config{Spec: "0.8*math+0.2*format+0.1*countdown"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func scoreRows(t *testing.T, f reward.Func, rows ...reward.Row) []reward.Result {
	t.Helper()
	out := make([]reward.Result, len(rows))
	if err := f.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuiltinScores(t *testing.T) {
	cd := `{"numbers":[30,100,93]}`
	for _, tc := range []struct {
		name string
		kind string
		opts reward.Options
		row  reward.Row
		want float64
	}{
		{"math accepts an equivalent boxed answer", "math", nil, reward.Row{Completion: `thus \boxed{\dfrac{1}{2}}`, Answer: "0.5"}, 1},
		{"math rejects a wrong answer", "math", nil, reward.Row{Completion: `\boxed{3}`, Answer: "2"}, 0},
		{"math reads the reference from a full solution", "math", nil, reward.Row{Completion: `<answer>4</answer>`, Answer: `so $\boxed{4}$.`}, 1},
		{"math takes a short bare completion whole", "math", nil, reward.Row{Completion: `\frac{3}{4}`, Answer: "0.75"}, 1},
		{"math gives 0 without an answer", "math", nil, reward.Row{Completion: "I do not know\nreally", Answer: "2"}, 0},
		{"gsm8k reads #### and strips commas", "gsm8k", nil, reward.Row{Completion: "so #### 1,000", Answer: "...\n#### 1000"}, 1},
		{"gsm8k reads the answer tag", "gsm8k", nil, reward.Row{Completion: "<answer>$18</answer>", Answer: "#### 18"}, 1},
		{"gsm8k strict ignores a bare last number", "gsm8k", nil, reward.Row{Completion: "it is 18", Answer: "#### 18"}, 0},
		{"gsm8k flexible takes the last number", "gsm8k", reward.Options{"mode": "flexible"}, reward.Row{Completion: "it is 18", Answer: "#### 18"}, 1},
		{"countdown scores a right equation 1", "countdown", nil, reward.Row{Completion: "<answer>30 - (100 - 93)</answer>", Answer: "23", Meta: cd}, 1},
		{"countdown accepts a long expression", "countdown", nil, reward.Row{Completion: "<answer>(100 - 93) * 30 / 30 + 16</answer>", Answer: "23", Meta: `{"nums":[100,93,30,30,16]}`}, 1},
		{"countdown gives 0.1 for × and a trailing = target (TinyZero's character set)", "countdown", nil, reward.Row{Completion: "<answer>(100 − 93) × 30 / 30 + 16 = 23</answer>", Answer: "23", Meta: `{"nums":[100,93,30,30,16]}`}, 0.1},
		{"countdown reads numbers from input strings", "countdown", nil, reward.Row{Completion: "<answer>30-(100-93)</answer>", Meta: `{"input":"30,100,93","output":"23"}`}, 1},
		{"countdown gives 0.1 for a wrong value", "countdown", nil, reward.Row{Completion: "<answer>30 + 100 - 93</answer>", Answer: "23", Meta: cd}, 0.1},
		{"countdown gives 0.1 for a reused number", "countdown", nil, reward.Row{Completion: "<answer>30 - 7</answer>", Answer: "23", Meta: cd}, 0.1},
		{"countdown gives 0.1 for a forbidden operator", "countdown", nil, reward.Row{Completion: "<answer>30 - (100 % 93)</answer>", Answer: "23", Meta: cd}, 0.1},
		{"countdown gives 0 without an answer tag", "countdown", nil, reward.Row{Completion: "30 - (100 - 93)", Answer: "23", Meta: cd}, 0},
		{"format accepts think then answer", "format", nil, reward.Row{Completion: "<think>hm</think>\n<answer>4</answer>"}, 1},
		{"format accepts a think tag opened by the prompt", "format", nil, reward.Row{Prompt: "Q <think>", Completion: "hm</think><answer>4</answer>"}, 1},
		{"format rejects text after the answer", "format", nil, reward.Row{Completion: "<think>hm</think><answer>4</answer> bye"}, 0},
		{"format rejects two think blocks", "format", nil, reward.Row{Completion: "<think>a</think><think>b</think><answer>4</answer>"}, 0},
		{"exact compares the extracted answer", "exact", nil, reward.Row{Completion: `\boxed{Paris}`, Answer: "Paris"}, 1},
		{"exact can ignore case", "exact", reward.Options{"ignore_case": true}, reward.Row{Completion: `\boxed{paris}`, Answer: "Paris"}, 1},
		{"regex matches with the answer substituted", "regex", reward.Options{"pattern": `answer: {answer}$`}, reward.Row{Completion: "answer: 1+1", Answer: "1+1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scoreRows(t, mustNew(t, tc.kind, tc.opts), tc.row)[0]
			if got.Err != "" || math.Abs(got.Reward-tc.want) > 1e-12 {
				t.Fatalf("got reward=%v err=%q, want %v", got.Reward, got.Err, tc.want)
			}
		})
	}
}

// TestRewardsThatCompareNeedAnAnswer: a row whose answer is missing (empty
// or blank) is a no_answer error for every reward that compares with the
// reference, not a silent 0 (or, for exact with an empty completion, a
// silent 1); rewards that do not read the answer score it as usual.
func TestRewardsThatCompareNeedAnAnswer(t *testing.T) {
	cd := `{"numbers":[30,100,93]}`
	for _, tc := range []struct {
		name    string
		kind    string
		opts    reward.Options
		row     reward.Row
		needsIt bool
	}{
		{"math needs it", "math", nil, reward.Row{Completion: `\boxed{2}`}, true},
		{"math needs it even when blank", "math", nil, reward.Row{Completion: `\boxed{2}`, Answer: " \n"}, true},
		{"gsm8k needs it", "gsm8k", nil, reward.Row{Completion: "#### 2"}, true},
		{"exact needs it (an empty completion would match)", "exact", nil, reward.Row{}, true},
		{"countdown needs it without a target in meta", "countdown", nil, reward.Row{Completion: "<answer>30-(100-93)</answer>", Meta: cd}, true},
		{"countdown takes the target from meta", "countdown", nil, reward.Row{Completion: "<answer>30-(100-93)</answer>", Meta: `{"numbers":[30,100,93],"target":23}`}, false},
		{"regex with {answer} needs it", "regex", reward.Options{"pattern": `answer: {answer}$`}, reward.Row{Completion: "answer: "}, true},
		{"regex without {answer} does not", "regex", reward.Options{"pattern": `answer`}, reward.Row{Completion: "answer: "}, false},
		{"format does not", "format", nil, reward.Row{Completion: "<think>hm</think><answer>4</answer>"}, false},
		{"length does not", "length", reward.Options{"max_len": 20, "buffer": 10}, reward.Row{Completion: "x", CompletionTokens: 3}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scoreRows(t, mustNew(t, tc.kind, tc.opts), tc.row)[0]
			if !tc.needsIt {
				if got.Err != "" {
					t.Fatalf("got error %q (%s), want a reward", got.Err, got.Kind)
				}
				return
			}
			if got.Kind != reward.KindNoAnswer || !strings.HasPrefix(got.Err, "row has no answer") {
				t.Fatalf("got reward=%v kind=%q err=%q, want a no_answer error from %s", got.Reward, got.Kind, got.Err, tc.kind)
			}
		})
	}
}

// TestOverlongPenaltyGolden checks ALGORITHMS.md §1.9 (L_max 20480, L_buf 4096).
func TestOverlongPenaltyGolden(t *testing.T) {
	f := mustNew(t, "length", reward.Options{"max_len": 20480, "buffer": 4096})
	for _, tc := range []struct {
		n    int
		want float64
	}{{16000, 0}, {16384, 0}, {18432, -0.5}, {20480, -1}} {
		got := scoreRows(t, f, reward.Row{Completion: "x", CompletionTokens: tc.n})[0]
		if got.Err != "" || math.Abs(got.Reward-tc.want) > 1e-12+1e-12*math.Abs(tc.want) {
			t.Errorf("|y|=%d: got %v (%s), want %v", tc.n, got.Reward, got.Err, tc.want)
		}
	}
	got := scoreRows(t, f, reward.Row{Completion: "no token count"})[0]
	if got.Err == "" {
		t.Error("a row without completion_tokens scored without an error")
	}
}

func TestFactoriesRejectBadOptions(t *testing.T) {
	for _, tc := range []struct {
		kind string
		opts reward.Options
	}{
		{"math", reward.Options{"bogus": 1}},
		{"length", reward.Options{"max_len": 10}},
		{"length", reward.Options{"max_len": 10, "buffer": 20}},
		{"regex", reward.Options{}},
		{"regex", reward.Options{"pattern": "("}},
		{"gsm8k", reward.Options{"mode": "loose"}},
		{"subprocess", reward.Options{}},
		{"http", reward.Options{}},
		{"nonexistent", nil},
	} {
		if _, err := reward.New(tc.kind, tc.opts); err == nil {
			t.Errorf("New(%q, %v) succeeded", tc.kind, tc.opts)
		}
	}
}
