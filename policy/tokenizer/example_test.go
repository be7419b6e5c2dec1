package tokenizer_test

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

func Example() {
	tok := tokenizer.New()
	ids := tok.Encode("<think>1+1</think><answer>2</answer>")
	fmt.Println(ids)
	fmt.Println(tok.Decode(append([]int32{tokenizer.BOS}, append(ids, tokenizer.EOS)...)))
	fmt.Println(tok.DecodeText(append(ids, tokenizer.EOS, tokenizer.PAD)))
	// Output:
	// [3 57 51 57 4 5 58 6]
	// <bos><think>1+1</think><answer>2</answer><eos>
	// <think>1+1</think><answer>2</answer>
}
