// Package datatest holds the dataset helpers that tests of several
// packages share: each reads through package data's public API and fails
// the test on any error, so that a test states what it reads, not how.
//
// datatest is imported by tests only. Package data's own (internal) tests
// cannot import it, since it imports data.
package datatest

import (
	"context"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// ReadSpec returns every prompt of the dataset spec names (data.ReadSpec).
func ReadSpec(t testing.TB, spec string, opts ...data.Option) []data.Prompt {
	t.Helper()
	ps, err := data.ReadSpec(context.Background(), spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// FirstRecord returns the first record batch of the file at path (all of a
// small file), read with mem (nil means the default allocator). The caller
// releases it.
func FirstRecord(t testing.TB, path string, mem memory.Allocator) arrow.Record {
	t.Helper()
	rr, err := data.OpenRecords(path, mem, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	rec, err := rr.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
