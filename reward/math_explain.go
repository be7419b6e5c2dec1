package reward

import (
	"fmt"
	"strings"
)

// Failure kinds ExplainMath reports when no comparison could be made.
const (
	FailNone       = ""
	FailTooLong    = "too_long"    // completion or reference over 1 MiB: not read
	FailNoAnswer   = "no_answer"   // nothing extractable in the completion
	FailNoGold     = "no_gold"     // empty reference answer
	FailParse      = "parse_error" // an answer the engine cannot parse (too deep, unknown command)
	FailMismatched = "mismatch"    // both parsed, not equal
)

// Explanation is ExplainMath's account of one comparison: what was
// extracted from the completion and the reference and by which rule, their
// normal forms, the rule that decided, and the verdict.
type Explanation struct {
	PredExtracted string   `json:"pred_extracted"`
	PredParts     []string `json:"pred_parts,omitempty"`
	PredRule      string   `json:"pred_rule"`
	GoldExtracted string   `json:"gold_extracted"`
	GoldRule      string   `json:"gold_rule"`
	PredNormal    string   `json:"pred_normal"`
	GoldNormal    string   `json:"gold_normal"`
	// Rule is the equivalence rule that decided (normal_form, numeric,
	// numeric_rounded, symbolic, set, tuple_or_interval, relation, equation,
	// inequality_interval, matrix, vector, percent, words, …).
	Rule  string `json:"rule"`
	Equal bool   `json:"equal"`
	// Failure is one of the Fail* kinds when the verdict is false.
	Failure string `json:"failure,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// ExplainMath scores completion against gold exactly as the `math` verifier
// does with options opts (DefaultMathOptions when omitted) and whole-answer
// extraction on, and explains the verdict.
func ExplainMath(completion, gold string, opts ...MathOptions) Explanation {
	o := DefaultMathOptions()
	if len(opts) > 0 {
		o = opts[0]
	}
	return explainMath(completion, gold, true, o)
}

func explainMath(completion, gold string, whole bool, o MathOptions) Explanation {
	var e Explanation
	if len(completion) > maxMathInput || len(gold) > maxMathInput {
		e.Failure, e.Rule = FailTooLong, RuleNone
		e.Detail = "input longer than 1 MiB is not read"
		return e
	}
	e.GoldExtracted, e.GoldRule = goldExtract(gold)
	if strings.TrimSpace(e.GoldExtracted) == "" {
		e.Failure, e.Rule = FailNoGold, RuleNone
		return e
	}
	ex := ExtractMath(completion, whole)
	e.PredExtracted, e.PredParts, e.PredRule = ex.Answer, ex.Parts, ex.Rule
	if ex.Rule == RuleNone || ex.Answer == "" {
		e.Failure, e.Rule, e.Detail = FailNoAnswer, RuleNone, ex.why
		return e
	}
	var tr trace
	e.Equal = mathEqual(e.GoldExtracted, e.PredExtracted, o, &tr)
	e.GoldNormal, e.PredNormal, e.Rule = tr.goldNorm, tr.predNorm, tr.rule
	if !e.Equal {
		e.Failure, e.Detail = FailMismatched, tr.failure
		if tr.rule == "parse_error" {
			e.Failure = FailParse
		}
	}
	return e
}

// MathExplainers returns, keyed by part name, a function explaining each
// `math` part of cfg with that part's own options (whole_answer, precision,
// strict_variables, allow_set_relation_comp), so that an explanation gives
// exactly the part's verdict. Parts of other kinds are left out.
func MathExplainers(cfg Config) (map[string]func(Row) Explanation, error) {
	r, err := cfg.Resolved()
	if err != nil {
		return nil, err
	}
	out := map[string]func(Row) Explanation{}
	for _, p := range r.Parts {
		if p.Kind != "math" {
			continue
		}
		f, err := newMath(p.Options)
		if err != nil {
			return nil, fmt.Errorf("reward part %q: %w", p.Name, err)
		}
		m := f.(*mathFunc)
		out[p.Name] = func(row Row) Explanation {
			return explainMath(row.Completion, row.Answer, m.whole, m.opts)
		}
	}
	return out, nil
}
