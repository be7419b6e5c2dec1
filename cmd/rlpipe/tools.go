//go:build tools

// This file pins modules that packages are about to import, so that
// `go mod tidy` keeps them while work on those packages is in flight.
package main

import (
	_ "github.com/apache/arrow/go/v17/arrow/flight"
	_ "github.com/apache/arrow/go/v17/arrow/ipc"
	_ "github.com/apache/arrow/go/v17/parquet/pqarrow"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/openai/openai-go/v3"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/sourcegraph/conc/pool"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/goleak"
	_ "gonum.org/v1/gonum/blas/blas32"
	_ "gonum.org/v1/netlib/blas/netlib"
	_ "gonum.org/v1/plot/plotter"
	_ "gopkg.in/yaml.v3"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
)
