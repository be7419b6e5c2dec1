package data

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrAnswer reports an answer string that cannot be parsed.
var ErrAnswer = errors.New("data: bad answer")

// gsm8kMarker separates GSM8K's worked solution from its final answer.
const gsm8kMarker = "####"

// ParseGSM8KAnswer extracts the final answer of a GSM8K solution: the text
// after the last "####", trimmed, with thousands commas (and a leading "$")
// removed and the number rendered canonically ("1,600" -> "1600",
// "5.0" -> "5"). It fails when there is no marker or no number after it.
func ParseGSM8KAnswer(s string) (string, error) {
	i := strings.LastIndex(s, gsm8kMarker)
	if i < 0 {
		return "", fmt.Errorf("%w: no %q marker", ErrAnswer, gsm8kMarker)
	}
	ans := strings.TrimSpace(s[i+len(gsm8kMarker):])
	ans = strings.TrimPrefix(ans, "$")
	ans = strings.TrimSuffix(ans, ".")
	ans = strings.ReplaceAll(ans, ",", "")
	if ans == "" {
		return "", fmt.Errorf("%w: empty after %q", ErrAnswer, gsm8kMarker)
	}
	out, err := CanonicalNumber(ans)
	if err != nil || strings.ContainsAny(ans, "eExXpP_") {
		return "", fmt.Errorf("%w: %q after %q is not a decimal number", ErrAnswer, ans, gsm8kMarker)
	}
	return out, nil
}

// ParseSVAMPAnswer renders SVAMP's numeric Answer field (JSON number text
// such as "5.0" or "0.25") canonically: "5", "0.25".
func ParseSVAMPAnswer(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return "", fmt.Errorf("%w: %q is not a number", ErrAnswer, s)
	}
	out, err := CanonicalNumber(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a number", ErrAnswer, s)
	}
	return out, nil
}

// ParseCountdownNumbers parses a Countdown "input" field: comma-separated
// non-negative integers such as "30,100,93" (spaces allowed). It fails on an
// empty list or an entry that is not an integer in [0, 1e9].
func ParseCountdownNumbers(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty number list", ErrAnswer)
	}
	parts := strings.Split(s, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 1e9 || strings.HasPrefix(p, "+") {
			return nil, fmt.Errorf("%w: countdown number %d %q", ErrAnswer, i+1, p)
		}
		out[i] = n
	}
	return out, nil
}
