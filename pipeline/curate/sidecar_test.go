package curate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSidecarParsing(t *testing.T) {
	hdr := Header{Version: sidecarVersion, Model: "m", Config: Config{Dataset: "d"}.withDefaults()}
	good := `{"header":{"version":1,"model":"m","config":{"dataset":"d","samples":8,"reward":"math","seed":0,"max_new_tokens":96,"temperature":1,"top_p":1,"template":"plain"}}}` + "\n"
	row := `{"index":0,"prompt_id":7,"samples":2,"correct":1,"pass_rate":0.5,"ovs":0.25,"tds":0.5}` + "\n"
	cases := []struct {
		name string
		raw  string
		rows int
		keep int // bytes of complete lines kept
		err  error
	}{
		{"an empty file has no rows", "", 0, 0, nil},
		{"a header alone has no rows", good, 0, len(good), nil},
		{"a row after the header is read", good + row, 1, len(good + row), nil},
		{"a partial last line is dropped", good + row + row[:20], 1, len(good + row), nil},
		{"a repeated row counts once", good + row + row, 1, len(good + row + row), nil},
		{"another header is refused", `{"header":{"version":1,"model":"other"}}` + "\n", 0, 0, ErrResume},
		{"a missing header is refused", row, 0, 0, ErrResume},
		{"a malformed row is refused", good + "{oops}\n", 0, 0, ErrResume},
		{"an unknown field is refused", good + `{"index":0,"bogus":1}` + "\n", 0, 0, ErrResume},
		{"impossible statistics are refused", good + `{"index":0,"prompt_id":7,"samples":2,"correct":3,"pass_rate":1.5}` + "\n", 0, 0, ErrResume},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done, keep, err := parseSidecar("p", []byte(tc.raw), hdr)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && (len(done) != tc.rows || keep != tc.keep) {
				t.Fatalf("%d rows, %d bytes kept; want %d, %d", len(done), keep, tc.rows, tc.keep)
			}
		})
	}
}

func TestOpenSidecarTruncatesAPartialLineAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.progress.jsonl")
	hdr := Header{Version: sidecarVersion, Model: "m", Config: Config{Dataset: "d"}.withDefaults()}
	s, done, err := openSidecar(path, hdr)
	if err != nil || len(done) != 0 {
		t.Fatal(err, done)
	}
	st := Stats{Index: 4, PromptID: 9, Samples: 2, Correct: 1, PassRate: 0.5, OVS: 0.25, TDS: 0.125}
	if err := s.append([]Stats{st}); err != nil {
		t.Fatal(err)
	}
	s.close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"index":5,"pro`)
	f.Close()
	s, done, err = openSidecar(path, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.append([]Stats{{Index: 5, PromptID: 10, Samples: 1, PassRate: 0}}); err != nil {
		t.Fatal(err)
	}
	s.close()
	if done[4] != st || len(done) != 1 {
		t.Fatalf("reopened sidecar holds %+v", done)
	}
	raw, _ := os.ReadFile(path)
	done, keep, err := parseSidecar(path, raw, hdr)
	if err != nil || len(done) != 2 || keep != len(raw) {
		t.Fatalf("after append: %v, %d rows, %d of %d bytes complete", err, len(done), keep, len(raw))
	}
}

func FuzzParseSidecar(f *testing.F) {
	hdr := Header{Version: sidecarVersion, Model: "m", Config: Config{Dataset: "d"}.withDefaults()}
	f.Add([]byte(`{"header":{"version":1,"model":"m","config":{"dataset":"d","samples":8,"reward":"math","seed":0,"max_new_tokens":96,"temperature":1,"top_p":1,"template":"plain"}}}` + "\n" +
		`{"index":0,"prompt_id":7,"samples":2,"correct":1,"pass_rate":0.5,"ovs":0.25,"tds":0.5}` + "\n"))
	f.Add([]byte("{}\n{"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		done, keep, err := parseSidecar("fuzz", raw, hdr)
		if err != nil {
			return
		}
		if keep > len(raw) || (keep > 0 && raw[keep-1] != '\n') {
			t.Fatalf("kept %d bytes of %d", keep, len(raw))
		}
		for i, st := range done {
			if st.Index != i || st.check() != nil {
				t.Fatalf("accepted invalid statistics %+v", st)
			}
		}
	})
}
