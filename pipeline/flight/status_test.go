package flight

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/reward"
)

func workerStatus(t *testing.T, addr string) (WorkerStatus, error) {
	t.Helper()
	p, err := newPool([]string{addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	stream, err := p.workers[0].client.DoAction(context.Background(), &arrowflight.Action{Type: ActionStatus})
	if err != nil {
		return WorkerStatus{}, err
	}
	res, err := stream.Recv()
	if err != nil {
		return WorkerStatus{}, err
	}
	var st WorkerStatus
	if err := json.Unmarshal(res.Body, &st); err != nil {
		t.Fatal(err)
	}
	return st, arrowflight.ReadUntilEOF(stream)
}

func TestStatusDescribesTheWorker(t *testing.T) {
	ts, srv := rolloutWorker(t, RolloutServerConfig{KeepVersions: 2})
	for v := range int64(3) {
		srv.SetModel(v+1, tinyModel(t, 1), nil)
	}
	diff := rolloutWorkerWith(t, func(s *RolloutServer) { s.SetModel(4, tinyDiffusion(t, 1), nil) })
	scorer, err := reward.NewScorer(reward.Config{Spec: "format", OnError: reward.OnErrorZero, MaxErrorRate: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer scorer.Close()
	rw := serve(t, NewRewardServer(scorer, memory.NewGoAllocator()))
	cases := []struct {
		name string
		addr string
		want WorkerStatus
	}{
		{"a rollout worker lists the versions it kept", ts.Addr(), WorkerStatus{Role: RoleRollout, Versions: []int64{2, 3}, Kind: "autoregressive"}},
		{"a diffusion worker names its kind", diff, WorkerStatus{Role: RoleRollout, Versions: []int64{4}, Kind: "diffusion"}},
		{"a reward worker reports its error policy", rw.Addr(), WorkerStatus{Role: RoleReward, OnError: "zero", MaxErrorRate: 0.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := workerStatus(t, tc.addr)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func rolloutWorkerWith(t *testing.T, setup func(*RolloutServer)) string {
	ts, srv := rolloutWorker(t, RolloutServerConfig{})
	setup(srv)
	return ts.Addr()
}

func TestUnknownActionIsUnimplemented(t *testing.T) {
	ts, _ := rolloutWorker(t, RolloutServerConfig{})
	p, err := newPool([]string{ts.Addr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	stream, err := p.workers[0].client.DoAction(context.Background(), &arrowflight.Action{Type: "reboot"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("got %v, want Unimplemented", err)
	}
}
