// Command goverifier is an rlpipe subprocess reward worker written in Go
// (see reward/PROTOCOL.md). Build it and point a spec at the binary:
//
//	go build -o bin/goverifier ./examples/goverifier
//	rlpipe score --reward 'subprocess:bin/goverifier' < rows.jsonl
//
// It scores with rlpipe's own math verifier and adds a "brevity" part.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/rlpipe/rlpipe/reward"
)

type request struct {
	ID         uint64 `json:"id"`
	Completion string `json:"completion"`
	Answer     string `json:"answer"`
}

type reply struct {
	ID     uint64             `json:"id"`
	Reward float64            `json:"reward"`
	Parts  map[string]float64 `json:"parts,omitempty"`
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				break
			}
			continue
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			// Without an id the reply cannot be matched; say so on stderr
			// and let rlpipe see the protocol error.
			fmt.Fprintln(os.Stderr, "goverifier: bad request:", err)
			os.Exit(2)
		}
		r := 0.0
		if pred, ok := reward.ExtractAnswer(req.Completion); ok && reward.MathEqual(req.Answer, pred) {
			r = 1
		}
		brevity := 1 / (1 + float64(len(req.Completion))/1000)
		if err := enc.Encode(reply{ID: req.ID, Reward: r, Parts: map[string]float64{"brevity": brevity}}); err != nil {
			os.Exit(1)
		}
		// Flush when no more input is already buffered, so batches are
		// answered in one write but no reply waits for the next request.
		if in.Buffered() == 0 {
			out.Flush()
		}
	}
	out.Flush()
}
