package objective

import (
	"fmt"
	"math"
	"strings"
)

// KLType names a per-token KL estimator (ALGORITHMS §1.4). A trailing "+"
// (e.g. "k3+") keeps the base estimator's value but uses the gradient of k2
// (verl's straight-through variant).
type KLType string

// KL estimators, with δ = ℓ^ref − ℓ. KLk3 carries verl's clamps: δ is clamped
// to ±20 before exp and the value to ±10.
const (
	KLk1  KLType = "k1"  // ℓ − ℓ^ref; verl "kl"
	KLAbs KLType = "abs" // |ℓ − ℓ^ref|
	KLk2  KLType = "k2"  // ½(ℓ − ℓ^ref)²; verl "mse"
	KLk3  KLType = "k3"  // e^δ − δ − 1 (clamped); verl "low_var_kl"
)

// Validate reports an unknown estimator name; "" is valid and means k3.
func (k KLType) Validate() error {
	switch strings.TrimSuffix(string(k), "+") {
	case "", string(KLk1), string(KLAbs), string(KLk2), string(KLk3):
		return nil
	}
	return fmt.Errorf("%w: kl type %q: want k1, abs, k2 or k3 (optionally with +)", ErrInvalid, k)
}

// KL returns the estimator's value at one token and its derivative with
// respect to the current log-prob logp (ref is constant). Clamped regions have
// zero derivative, as torch.clamp. It panics on an unknown type.
func (k KLType) KL(logp, ref float64) (value, dlogp float64) {
	base := KLType(strings.TrimSuffix(string(k), "+"))
	d := logp - ref
	switch base {
	case KLk1:
		value, dlogp = d, 1
	case KLAbs:
		value = math.Abs(d)
		switch {
		case d > 0:
			dlogp = 1
		case d < 0:
			dlogp = -1
		}
	case KLk2:
		value, dlogp = 0.5*d*d, d
	case KLk3, "":
		value, dlogp = k3(-d)
	default:
		panic(fmt.Sprintf("objective: unknown KL type %q", k))
	}
	if strings.HasSuffix(string(k), "+") {
		dlogp = d
	}
	return value, dlogp
}

// k3 is verl's low_var_kl at δ = ℓ^ref − ℓ, returning the value and its
// derivative with respect to ℓ (dδ/dℓ = −1).
func k3(delta float64) (value, dlogp float64) {
	dc := math.Max(-20, math.Min(20, delta))
	e := math.Exp(dc)
	v := e - dc - 1
	if delta < -20 || delta > 20 || v > 10 || v < -10 {
		return math.Max(-10, math.Min(10, v)), 0
	}
	return v, -(e - 1)
}
