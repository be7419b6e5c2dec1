// Command rlpipe post-trains reasoning policies with reinforcement learning.
//
// Run `rlpipe --help` for the command list; `rlpipe run` with no flags runs
// the embedded default job.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:]))
}
