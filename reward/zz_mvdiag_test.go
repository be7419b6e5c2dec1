package reward

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestZZMVDiag(t *testing.T) {
	f, err := os.Open("/tmp/mv/cases.jsonl")
	if err != nil {
		t.Skip()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	agree, total := 0, 0
	for sc.Scan() {
		var d map[string]any
		json.Unmarshal(sc.Bytes(), &d)
		if strings.Contains(d["fn"].(string), "yujianll") {
			continue
		}
		gold, _ := d["gold"].(string)
		pred, _ := d["pred"].(string)
		exp := fmt.Sprint(d["expected"])
		o := DefaultMathOptions()
		if p, ok := d["precision"].(float64); ok {
			o.Precision = int(p)
		}
		if s, ok := d["strict"].(bool); ok {
			o.StrictVariables = s
		}
		if s, ok := d["allow_set_relation_comp"].(bool); ok {
			o.AllowSetRelationComp = s
		}
		e := ExplainMath(pred, gold, o)
		want := exp == "1" || exp == "true"
		total++
		if e.Equal == want {
			agree++
			continue
		}
		fmt.Printf("DIS %s want=%v\n  gold=%.200q\n  pred=%.300q\n  -> pred %.120q (%s) gold %.120q (%s) rule %s %s\n", d["fn"], want, gold, pred, e.PredExtracted, e.PredRule, e.GoldExtracted, e.GoldRule, e.Rule, e.Detail)
	}
	fmt.Printf("agree %d/%d\n", agree, total)
}
