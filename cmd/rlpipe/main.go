// Command rlpipe post-trains reasoning policies with reinforcement learning.
//
// Run `rlpipe --help` for the command list; `rlpipe run` with no flags runs
// the embedded default job.
package main

import (
	"os"

	"github.com/rlpipe/rlpipe/cmd/rlpipe/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:]))
}
