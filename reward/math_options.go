package reward

// MathOptions set the strictness of MathEqualWith where the reference
// checkers differ (MATH_RULES.md §0). The zero value is not the default;
// use DefaultMathOptions.
type MathOptions struct {
	// Precision is the number of decimal places a decimal literal is
	// rounded to before it is compared (Math-Verify's float_rounding, 6):
	// 0.333333 matches \frac13 but 0.3333 does not unless Precision <= 4.
	Precision int
	// StrictVariables makes variable names matter (Math-Verify strict=True,
	// the default): f(y) does not match f(x). When false, the predicted
	// answer's variables are renamed, in sorted order, to the reference's
	// when both have the same number of variables.
	StrictVariables bool
	// AllowSetRelationComp lets a predicted relation match a reference set
	// or interval (x > 1 vs (1, \infty)). A reference relation always
	// matches a predicted set or interval, as in Math-Verify.
	AllowSetRelationComp bool
}

// DefaultMathOptions returns Math-Verify's defaults: precision 6, strict
// variables, no set–relation comparison when the reference is the set.
func DefaultMathOptions() MathOptions {
	return MathOptions{Precision: 6, StrictVariables: true}
}

// mathOptions reads the math verifier's strictness options.
func mathOptions(o Options) (MathOptions, error) {
	m := DefaultMathOptions()
	var err error
	if m.Precision, err = o.Int("precision", m.Precision); err != nil {
		return m, err
	}
	if m.Precision < 0 || m.Precision > 15 {
		return m, optErr("precision", o.str("precision"), "an integer from 0 to 15")
	}
	if m.StrictVariables, err = o.Bool("strict_variables", m.StrictVariables); err != nil {
		return m, err
	}
	if m.AllowSetRelationComp, err = o.Bool("allow_set_relation_comp", m.AllowSetRelationComp); err != nil {
		return m, err
	}
	return m, nil
}

func (o Options) str(key string) string {
	s, _ := o.String(key, "")
	return s
}
