// Package rngtest pins the project's random-stream derivations to golden
// files, so that moving or rewriting a derivation cannot silently change a
// seed, a mask, a shuffle or a resumed run's stream.
//
// The golden files live in data/rng/testdata, one per derivation, and were
// recorded from the code as it stood before package data/rng existed (each
// file's header names the site). The same file is checked both where a
// derivation is consumed and in data/rng itself, which is what proves the
// shared implementation bit-identical to every former copy.
//
// rngtest is imported by tests only. It has no -update flag on purpose: a
// golden file is written once, when it does not exist yet and the
// environment variable RLPIPE_RNG_GOLDEN_CREATE is 1, and never rewritten.
// Changing a derivation's output is a breaking change to every checkpoint
// and golden value; it needs a new derivation name, not a new file.
package rngtest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Words returns n deterministic test inputs: first edge cases that a hash
// must not special-case (0, 1, all ones, the top bit, the SplitMix64
// increment and its neighbours), then a 64-bit LCG (Knuth's MMIX
// constants). The LCG is deliberately not SplitMix64, so that the inputs
// do not depend on the code under test.
func Words(n int) []uint64 {
	edges := []uint64{0, 1, 2, 3, 0x5eed, ^uint64(0), 1 << 63, 1<<63 - 1,
		0x9e3779b97f4a7c15, 0x9e3779b97f4a7c14, 0x61c8864680b583eb, 0x61c8864680b583ec}
	out := make([]uint64, 0, n)
	for _, e := range edges {
		if len(out) == n {
			return out
		}
		out = append(out, e)
	}
	x := uint64(0x243f6a8885a308d3) // π's fraction, an arbitrary start
	for len(out) < n {
		x = x*6364136223846793005 + 1442695040888963407
		out = append(out, x)
	}
	return out
}

// Pin is one derivation pinned to its golden file: Golden names the file
// in data/rng/testdata, Site the code that produces the values, and Values
// computes them from the inputs w = Words(PinWords).
type Pin struct {
	Golden string
	Site   string
	Values func(t testing.TB, w []uint64) []uint64
}

// PinWords is how many inputs CheckPins hands to each Pin. Words is
// prefix-stable, so a pin recorded from Words(48) sees the same first 48.
const PinWords = 64

// CheckPins checks each pin against its golden file in a subtest of its
// own, so that every package pins its derivations as one short table.
func CheckPins(t *testing.T, pins ...Pin) {
	t.Helper()
	for _, p := range pins {
		t.Run(p.Golden+" is unchanged", func(t *testing.T) {
			// A fresh copy each, so that no pin sees another's edits.
			Check(t, p.Golden, p.Site, p.Values(t, Words(PinWords)))
		})
	}
}

// Check compares got with the golden file of derivation name. site names
// the code that produced got; it is written into the header when the file
// is created and otherwise only appears in failure messages.
func Check(t testing.TB, name, site string, got []uint64) {
	t.Helper()
	path, err := goldenPath(name)
	if err != nil {
		t.Fatal(err)
	}
	want, err := read(path)
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("RLPIPE_RNG_GOLDEN_CREATE") == "1" {
		if err := create(path, name, site, got); err != nil {
			t.Fatal(err)
		}
		t.Logf("rngtest: created %s from %s", path, site)
		return
	}
	if err != nil {
		t.Fatalf("rngtest: %s: %v", name, err)
	}
	if len(got) != len(want) {
		t.Fatalf("rngtest: %s from %s: %d values, golden file has %d", name, site, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("rngtest: %s from %s: value %d = %#016x, golden %#016x", name, site, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("rngtest: %s from %s: %d of %d values differ from %s", name, site, bad, len(got), path)
	}
}

// goldenPath locates data/rng/testdata/name.golden from the module root,
// found by walking up from the working directory, so that tests of any
// package (and builds with -trimpath) reach the same file.
func goldenPath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "data", "rng", "testdata", name+".golden"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("rngtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func read(path string) ([]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// create writes a new golden file; O_EXCL makes it refuse to replace one,
// even when two packages' tests race to create the same file.
func create(path, name, site string, vals []uint64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Golden values of the random derivation %q, one 64-bit word a line.\n", name)
	fmt.Fprintf(&b, "# Provenance: recorded by rngtest from %s.\n", site)
	b.WriteString("# Never regenerate: a change here changes seeds, masks and resumed runs.\n")
	for _, v := range vals {
		fmt.Fprintf(&b, "0x%016x\n", v)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
