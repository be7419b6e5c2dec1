package pipeline

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
)

// TestHFPolicyTrainsOnRemoteRollouts trains an hf policy on rollouts from
// an OpenAI-compatible server serving the same model: the prompts the
// server continues and the tokens training scores come from the policy's
// own chat template and tokenizer, not rlpipe's byte-level ones.
func TestHFPolicyTrainsOnRemoteRollouts(t *testing.T) {
	init := hftest.TinyLlamaChat(t)
	pol, err := policyfile.Load(init)
	if err != nil {
		t.Fatal(err)
	}
	srv := openaiserver.New(openaiserver.Config{Timeout: time.Minute, RenderChat: func(m []data.ChatMessage) (string, error) {
		return policyfile.RenderConversation(pol.Chat, m)
	}}, pol.Model, textCodec{pol})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	cfg := remoteRunConfig("http://" + ln.Addr().String() + "/v1")
	cfg.Policy.Kind, cfg.Policy.Init = policy.KindHF, init
	cfg.Data.Train, cfg.Data.TrainSize, cfg.Data.Template = "gsm8k", 4, data.TemplateChat
	cfg.Rollout.OpenAI.Template, cfg.Rollout.OpenAI.Timeout = data.TemplateChat, time.Minute
	cfg.Train.Steps, cfg.Train.PromptsPerStep = 1, 2
	cfg.Rollout.G, cfg.Rollout.MaxNewTokens = 2, 6
	cfg.Eval.N = 2
	cfg.Reward = reward.Config{Parts: []reward.PartConfig{{Kind: "length", Weight: 1,
		Options: reward.Options{"max_len": 40, "buffer": 30, "count": "chars"}}}, OnError: reward.OnErrorFail}
	cfg.Export.TrainBatches = filepath.Join(t.TempDir(), "export")
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	render := pol.PromptRenderer(data.Template{Kind: data.TemplateChat})
	rows := readTrainRows(t, filepath.Join(cfg.Export.TrainBatches, fmt.Sprintf("step-%06d.parquet", 1)))
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for i, r := range rows {
		text, err := render.Render(data.Prompt{Prompt: r.Prompt}, data.ModeTrace)
		if err != nil {
			t.Fatal(err)
		}
		if want := pol.Tokenizer.Encode(text); !slices.Equal(r.PromptTokens, want) {
			t.Fatalf("row %d: prompt tokens %v\nwant the chat template's %q = %v", i, r.PromptTokens, text, want)
		}
		if len(r.CompletionTokens) == 0 || pol.Tokenizer.DecodeText(r.CompletionTokens) != r.Completion {
			t.Errorf("row %d: completion %q does not decode from its tokens %v", i, r.Completion, r.CompletionTokens)
		}
	}
}
