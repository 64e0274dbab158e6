package sim

import (
	"math/rand/v2"
	"testing"

	"ersatz/internal/workload"
)

// TestLiveMatchesRun feeds a Live the requests of a Run, one at a time and
// running events up to each arrival as an emulator would, and checks the
// records are identical and the token hook saw every token in order.
func TestLiveMatchesRun(t *testing.T) {
	for _, disagg := range []bool{false, true} {
		cfg := Config{Pool: Pool{Replicas: 2, Timer: h100Dense14B(), Router: LeastOutstanding,
			Engine: EngineConfig{KVTokens: 20000, MaxNumBatchedTokens: 2048}}}
		if disagg {
			p := cfg.Pool
			cfg.Prefill = &p
			cfg.Transfer = Transfer{KVBytesPerToken: 1e5, LinkBytesPerS: 1e10}
		}
		gen := func() workload.Source {
			a, _ := workload.Poisson(20) // arrivals keep their clock: one per generator
			in, _ := workload.LogNormal(800, 400)
			out, _ := workload.LogNormal(100, 50)
			g, err := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: 300},
				rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		var want []Record
		if _, err := Run(cfg, gen(), rand.New(rand.NewPCG(1, 1)), RecordFunc(func(r *Record) { want = append(want, *r) })); err != nil {
			t.Fatal(err)
		}
		var got []Record
		seen := map[int64]int{}
		live, err := NewLive(cfg, rand.New(rand.NewPCG(1, 1)), func(id int64, n int, now float64) {
			if n <= seen[id] {
				t.Fatalf("request %d: tokens went from %d to %d", id, seen[id], n)
			}
			seen[id] = n
		}, RecordFunc(func(r *Record) { got = append(got, *r) }))
		if err != nil {
			t.Fatal(err)
		}
		src := gen()
		var r workload.Request
		for src.Next(&r) {
			if err := live.RunUntil(r.ArrivalS); err != nil {
				t.Fatal(err)
			}
			if err := live.Submit(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := live.RunUntil(1e9); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("disagg %v: %d records, want %d", disagg, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("disagg %v: record %d: got %+v, want %+v", disagg, i, got[i], want[i])
			}
			if seen[want[i].ID] != want[i].Output {
				t.Fatalf("request %d: hook saw %d tokens, want %d", want[i].ID, seen[want[i].ID], want[i].Output)
			}
		}
		if g := live.Gauges(); g.InFlight != 0 || g.Running != 0 {
			t.Fatalf("after the run: %+v, want empty", g)
		}
	}
}
