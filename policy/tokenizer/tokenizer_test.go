package tokenizer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rlpipe/rlpipe/data"
)

// b returns the id of byte c.
func b(c byte) int32 { return ByteOffset + int32(c) }

// bs returns the ids of the bytes of s, ignoring markup.
func bs(s string) []int32 {
	out := make([]int32, len(s))
	for i := range len(s) {
		out[i] = b(s[i])
	}
	return out
}

func cat(parts ...[]int32) []int32 { return slices.Concat(parts...) }

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int32
	}{
		{"the empty string has no tokens", "", []int32{}},
		{"plain ASCII maps byte for byte", "1+2", bs("1+2")},
		{"multi-byte UTF-8 is split into its bytes", "é", []int32{b(0xC3), b(0xA9)}},
		{"think tags adjacent to text become single ids", "a<think>b</think>c",
			cat(bs("a"), []int32{Think}, bs("b"), []int32{EndThink}, bs("c"))},
		{"answer tags with nothing between them", "<answer></answer>", []int32{Answer, EndAnswer}},
		{"a full reasoning trace", "<think>x</think><answer>42</answer>",
			cat([]int32{Think}, bs("x"), []int32{EndThink, Answer}, bs("42"), []int32{EndAnswer})},
		{"a lone < before a tag stays a byte", "<<think>", []int32{b('<'), Think}},
		{"a truncated tag stays bytes", "<think", bs("<think")},
		{"tags are case sensitive", "<THINK>", bs("<THINK>")},
		{"a tag with a space is not a tag", "< think>", bs("< think>")},
		{"control token strings in text stay bytes", "<eos><pad><bos><mask>", bs("<eos><pad><bos><mask>")},
		{"invalid UTF-8 is encoded byte for byte", "\xff\x00<", []int32{b(0xFF), b(0), b('<')}},
	}
	tok := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tok.Encode(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Encode(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if back := tok.Decode(got); back != data.LossyUTF8([]byte(tt.in)) {
				t.Fatalf("Decode(Encode(%q)) = %q", tt.in, back)
			}
		})
	}
}

// TestDecodeIsValidUTF8 pins the text of byte sequences a sampler can
// produce that are not UTF-8: each maximal invalid subpart becomes one
// U+FFFD (String::from_utf8_lossy), while TokenBytes keeps the raw bytes.
func TestDecodeIsValidUTF8(t *testing.T) {
	tok := New()
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  string
	}{
		{"lone continuation byte", []byte{'1', 0x80, '2'}, "1\uFFFD2"},
		{"character cut by the length limit", []byte{'x', 0xE2, 0x82}, "x\uFFFD"},
		{"two invalid bytes are two replacements", []byte{0xFF, 0xFE}, "\uFFFD\uFFFD"},
		{"surrogate half", []byte{0xED, 0xA0, 0x80}, "\uFFFD\uFFFD\uFFFD"},
		{"valid multi-byte text is unchanged", []byte("é€𝄞"), "é€𝄞"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := bs(string(tc.bytes))
			if got := tok.Decode(ids); got != tc.want || !utf8.ValidString(got) {
				t.Errorf("Decode = %q, want %q", got, tc.want)
			}
			var raw []byte
			for _, id := range ids {
				raw = append(raw, tok.TokenBytes(id)...)
			}
			if string(raw) != string(tc.bytes) {
				t.Errorf("TokenBytes = %q, want the sampled bytes %q", raw, tc.bytes)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       []int32
		want     string
		wantText string
	}{
		{"control tokens render as their names", []int32{BOS, b('a'), EOS, PAD, PAD}, "<bos>a<eos><pad><pad>", "a"},
		{"markup is kept by both forms", []int32{Think, b('x'), EndThink}, "<think>x</think>", "<think>x</think>"},
		{"mask tokens render as <mask> and vanish from text", []int32{Mask, b('1'), Mask}, "<mask>1<mask>", "1"},
		{"ids outside the vocabulary become U+FFFD", []int32{-1, b('a'), Size}, "\uFFFDa\uFFFD", "\uFFFDa\uFFFD"},
		{"decoding continues past EOS", []int32{EOS, b('z')}, "<eos>z", "z"},
	}
	tok := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Decode(tt.in); got != tt.want {
				t.Errorf("Decode = %q, want %q", got, tt.want)
			}
			if got := tok.DecodeText(tt.in); got != tt.wantText {
				t.Errorf("DecodeText = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestVocabularyIsFixed(t *testing.T) {
	tok := New()
	if tok.VocabSize() != 264 {
		t.Fatalf("VocabSize = %d, want 264", tok.VocabSize())
	}
	want := map[string]int32{"<pad>": 0, "<bos>": 1, "<eos>": 2, "<think>": 3, "</think>": 4,
		"<answer>": 5, "</answer>": 6, "<mask>": 7, "\x00": 8, "A": 8 + 65, "\xff": 263}
	for name, id := range want {
		got, ok := tok.ID(name)
		if !ok || got != id {
			t.Errorf("ID(%q) = %d, %v; want %d, true", name, got, ok, id)
		}
		if n := tok.Name(id); n != name {
			t.Errorf("Name(%d) = %q, want %q", id, n, name)
		}
	}
	if _, ok := tok.ID("<unk>"); ok {
		t.Error(`ID("<unk>") reported known`)
	}
	if n := tok.Name(Size); n != "" {
		t.Errorf("Name(Size) = %q, want empty", n)
	}
	for id := int32(-2); id < Size+2; id++ {
		if IsControl(id) && !IsSpecial(id) {
			t.Errorf("id %d is control but not special", id)
		}
	}
}

func TestSpec(t *testing.T) {
	tok := New()
	spec := tok.Spec()
	if _, err := FromSpec(spec); err != nil {
		t.Fatalf("FromSpec(Spec()) = %v", err)
	}
	js, err := tok.MarshalJSON()
	if err != nil || string(js) != spec {
		t.Fatalf("MarshalJSON = %s, %v; want the spec", js, err)
	}
	const want = `{"kind":"rlpipe-byte","version":1,"specials":["<pad>","<bos>","<eos>","<think>","</think>","<answer>","</answer>","<mask>"],"byte_offset":8,"vocab_size":264}`
	if spec != want {
		t.Fatalf("Spec() = %s\nwant      %s", spec, want)
	}
	var back Tokenizer
	if err := back.UnmarshalJSON(js); err != nil {
		t.Fatalf("UnmarshalJSON(spec) = %v", err)
	}
	bad := []struct {
		name, in, wantField string
	}{
		{"a newer version is refused", strings.Replace(spec, `"version":1`, `"version":2`, 1), "version"},
		{"another tokenizer family is refused", strings.Replace(spec, `rlpipe-byte`, `bpe`, 1), "kind"},
		{"a reordered special is refused", strings.Replace(spec, `"<pad>","<bos>"`, `"<bos>","<pad>"`, 1), "specials"},
		{"a different vocabulary size is refused", strings.Replace(spec, `"vocab_size":264`, `"vocab_size":265`, 1), "vocab_size"},
		{"a shifted byte offset is refused", strings.Replace(spec, `"byte_offset":8`, `"byte_offset":9`, 1), "byte_offset"},
		{"an unknown field is refused", strings.Replace(spec, `{`, `{"merges":[],`, 1), "merges"},
		{"trailing data is refused", spec + "{}", "trailing"},
		{"not JSON is refused", "byte", "invalid"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in == spec {
				t.Fatalf("test input did not change the spec: %s", spec)
			}
			_, err := FromSpec(tt.in)
			if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("FromSpec = %v; want ErrSpec mentioning %q", err, tt.wantField)
			}
		})
	}
}

func TestAppendEncodeReusesCapacity(t *testing.T) {
	tok := New()
	dst := make([]int32, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		dst = tok.AppendEncode(dst[:0], "<think>2+2</think><answer>4</answer>")
	})
	if allocs != 0 {
		t.Fatalf("AppendEncode allocated %v times with enough capacity", allocs)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "<think>", "a</answer>b", "<<answer>>", "\xff<eos>", "é<think"} {
		f.Add(s)
	}
	tok := New()
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != data.LossyUTF8([]byte(s)) || !utf8.ValidString(got) {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if len(ids) > len(s) {
			t.Fatalf("Encode(%q) gave %d ids for %d bytes", s, len(ids), len(s))
		}
		for _, id := range ids {
			if id < 0 || id >= Size || IsControl(id) {
				t.Fatalf("Encode(%q) produced id %d", s, id)
			}
		}
		if !utf8.ValidString(tok.DecodeText(ids)) {
			t.Fatalf("DecodeText(Encode(%q)) is not valid UTF-8", s)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	text := strings.Repeat("<think>Let me add 17 and 25: 17+25=42.</think><answer>42</answer> ", 16)
	tok := New()
	dst := make([]int32, 0, len(text))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		dst = tok.AppendEncode(dst[:0], text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := New()
	ids := tok.Encode(strings.Repeat("<think>Let me add 17 and 25: 17+25=42.</think><answer>42</answer> ", 16))
	b.SetBytes(int64(len(ids)))
	b.ReportAllocs()
	for b.Loop() {
		_ = tok.Decode(ids)
	}
}
