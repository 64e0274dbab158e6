package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"ersatz/internal/workload"
)

// genSource returns a lazy synthetic workload.
func genSource(t testing.TB, seed uint64, n int, rate, inMean, outMean float64, groups int) workload.Source {
	t.Helper()
	a, err := workload.Poisson(rate)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := workload.LogNormal(inMean, inMean/2)
	out, _ := workload.LogNormal(outMean, outMean/2)
	g, err := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: n,
		PrefixGroups: groups, PrefixTokens: 256}, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// budgetTimer checks every batch against the engine's limits.
type budgetTimer struct {
	t              testing.TB
	inner          StepTimer
	budget, maxSeq int
}

func (b *budgetTimer) StepTime(bt *Batch) float64 {
	if bt.DecodeTokens+bt.PrefillTokens > b.budget || bt.DecodeSeqs+bt.PrefillSeqs > b.maxSeq ||
		bt.DecodeSeqs+bt.PrefillSeqs == 0 || bt.DecodeTokens < bt.DecodeSeqs || bt.PrefillTokens < bt.PrefillSeqs {
		b.t.Errorf("batch %+v breaks budget %d / max seqs %d", *bt, b.budget, b.maxSeq)
	}
	return b.inner.StepTime(bt)
}

func invariantConfigs(t testing.TB) map[string]Config {
	pool := func(replicas, kv int, router Router, prefix bool, spec int, acc float64) Pool {
		e := EngineConfig{MaxNumBatchedTokens: 2048, MaxNumSeqs: 64, KVTokens: kv, PrefixCaching: prefix,
			SpecTokens: spec, SpecAcceptance: acc}
		return Pool{Replicas: replicas, Engine: e, Router: router,
			Timer: &budgetTimer{t: t, inner: h100Dense14B(), budget: 2048, maxSeq: 64}}
	}
	pre := pool(2, 20000, LeastOutstanding, true, 0, 0)
	return map[string]Config{
		"one replica":          {Pool: pool(1, 200000, RoundRobin, false, 0, 0)},
		"tight KV, preemption": {Pool: pool(2, 6000, LeastKV, false, 0, 0)},
		"prefix affinity":      {Pool: pool(4, 30000, PrefixAffinity, true, 0, 0)},
		"speculative 0.7":      {Pool: pool(2, 50000, LeastOutstanding, false, 4, 0.7)},
		"disaggregated":        {Prefill: &pre, Pool: pool(2, 40000, RoundRobin, false, 2, 0.6), Transfer: Transfer{KVBytesPerToken: 200e3, LinkBytesPerS: 50e9, LatencyS: 1e-3}},
		"no chunked prefill": {Pool: func() Pool {
			p := pool(1, 100000, RoundRobin, false, 0, 0)
			p.Engine.DisableChunkedPrefill = true
			return p
		}()},
		"disaggregated tight":   {Prefill: &pre, Pool: pool(1, 8000, RoundRobin, true, 0, 0), Transfer: Transfer{KVBytesPerToken: 200e3, LinkBytesPerS: 5e9}},
		"round robin many seqs": {Pool: pool(3, 100000, RoundRobin, true, 1, 1)},
	}
}

func TestInvariantsOnRandomRuns(t *testing.T) {
	for name, cfg := range invariantConfigs(t) {
		t.Run(name, func(t *testing.T) {
			const n = 3000
			seen := map[int64]bool{}
			sink := RecordFunc(func(r *Record) {
				if seen[r.ID] {
					t.Errorf("request %d recorded twice", r.ID)
				}
				seen[r.ID] = true
				if !r.Rejected && (r.FirstTokenS <= r.ArrivalS || r.FinishS < r.FirstTokenS || (r.Output > 1 && r.FinishS == r.FirstTokenS)) {
					t.Errorf("record %+v: times out of order", *r)
				}
				// One prompt token is always computed, except when a
				// preempted request recomputes prompt plus output.
				if r.Cached > r.Input || (r.Preemptions == 0 && r.Cached >= r.Input && r.Input > 0) {
					t.Errorf("record %+v: too much cached", *r)
				}
			})
			hook := func(s *simulation) {
				for _, e := range s.engines {
					if e.kv.Used() > e.kv.Capacity() || len(e.running) > e.cfg.MaxNumSeqs {
						t.Fatalf("%s %d: used %d of %d blocks, %d running", e.pool.name, e.index, e.kv.Used(), e.kv.Capacity(), len(e.running))
					}
					for _, r := range e.running {
						// No token before its prefill ends: a request with
						// tokens has its whole prompt computed (or is
						// recomputing after preemption, gen > 0, but then
						// its first token already came after a full prefill).
						if r.gen == 0 && r.firstS != 0 {
							t.Fatalf("request %d: first token time set before any token", r.ID)
						}
						if r.kv.Blocks()*e.cfg.BlockTokens < r.computed || r.gen > r.Output {
							t.Fatalf("request %d: %d blocks for %d computed, %d of %d generated", r.ID, r.kv.Blocks(), r.computed, r.gen, r.Output)
						}
						if !r.prefilling() && r.computed != r.Input+r.gen-1 {
							t.Fatalf("request %d decoding with %d computed, want %d", r.ID, r.computed, r.Input+r.gen-1)
						}
					}
				}
			}
			sum, err := run(cfg, genSource(t, 11, n, 10, 1200, 200, 8), rand.New(rand.NewPCG(5, 5)), sink, hook, Stop{})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != n || sum.Requests != n || sum.Finished+sum.Rejected != n {
				t.Fatalf("%d records, summary %d arrived, %d finished, %d rejected; want %d", len(seen), sum.Requests, sum.Finished, sum.Rejected, n)
			}
			if sum.KVUseMax > 1 || sum.KVUseMean > sum.KVUseMax {
				t.Fatalf("KV use mean %v max %v", sum.KVUseMean, sum.KVUseMax)
			}
			// Little's law: mean number in system = throughput × mean time in
			// system. Both sides integrate the same sojourns, so they agree
			// to rounding when every request has left by the end.
			lambda := float64(sum.Finished+sum.Rejected) / sum.DurationS
			w := sum.E2E.MeanS * float64(sum.Finished) / float64(sum.Finished+sum.Rejected)
			if got, want := sum.InSystemMean, lambda*w; math.Abs(got-want) > 0.03*want {
				t.Fatalf("Little's law: L = %v, λW = %v", got, want)
			}
			t.Logf("%s: %d finished, %d rejected, %d preemptions, TTFT p50 %.3fs, TPOT p50 %.4fs, KV %.2f/%.2f, cached %d",
				name, sum.Finished, sum.Rejected, sum.Preemptions, sum.TTFT.P50S, sum.TPOT.P50S, sum.KVUseMean, sum.KVUseMax, sum.CachedTokens)
		})
	}
}

// TestLowLoadMatchesStepModel: with requests far apart, each runs alone,
// so its TTFT is one prefill step and its TPOT the mean decode step.
func TestLowLoadMatchesStepModel(t *testing.T) {
	timer := h100Dense14B()
	const in, out = 1000, 100
	// Alone: one prefill step of 1000 tokens (budget 8192), then decode
	// steps with contexts 1001 … 1099 (computed + the token itself).
	wantTTFT := timer.StepTime(&Batch{PrefillSeqs: 1, PrefillTokens: in, PrefillKV: in * in / 2})
	var sum float64
	for i := 1; i < out; i++ {
		sum += timer.StepTime(&Batch{DecodeSeqs: 1, DecodeTokens: 1, DecodeKV: in + i})
	}
	wantTPOT := sum / (out - 1)
	// 96 ms and ≈ 6.093 ms by hand: 6 + 1000×0.09; 6 + 0.03 + 0.06×1.05.
	if math.Abs(wantTTFT-0.096) > 1e-12 || math.Abs(wantTPOT-0.006093) > 1e-9 {
		t.Fatalf("step model: TTFT %v TPOT %v", wantTTFT, wantTPOT)
	}
	a, _ := workload.Poisson(0.05) // one request per 20 s; each takes ≈ 0.7 s
	fix, _ := workload.Fixed(in)
	fo, _ := workload.Fixed(out)
	g, _ := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: fix, Output: fo, Count: 500}, rand.New(rand.NewPCG(1, 2)))
	s, err := Run(Config{Pool: Pool{Replicas: 1, Timer: timer, Engine: EngineConfig{KVTokens: 200000}}}, g, rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"TTFT p50", s.TTFT.P50S, wantTTFT}, {"TPOT p50", s.TPOT.P50S, wantTPOT}, {"TPOT mean", s.TPOT.MeanS, wantTPOT}} {
		if math.Abs(c.got-c.want) > 0.02*c.want {
			t.Errorf("%s = %.6f s, want %.6f s within 2%%", c.name, c.got, c.want)
		}
	}
}

func recordBytes(t *testing.T, cfg Config, seed uint64) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	sink := RecordFunc(func(r *Record) {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	})
	s, err := Run(cfg, genSource(t, 3, 2000, 12, 1000, 200, 4), rand.New(rand.NewPCG(seed, seed)), sink)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&buf, "%+v\n", *s)
	return buf.Bytes()
}

func TestDeterministic(t *testing.T) {
	cfgs := invariantConfigs(t)
	for _, name := range []string{"speculative 0.7", "disaggregated", "prefix affinity"} {
		cfg := cfgs[name]
		a, b := recordBytes(t, cfg, 9), recordBytes(t, cfg, 9)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: equal seeds gave different records", name)
		}
		if name == "speculative 0.7" && bytes.Equal(a, recordBytes(t, cfg, 10)) {
			t.Fatalf("%s: a different seed changed nothing; the rng is not used", name)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	timer := h100Dense14B()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Pool: Pool{Replicas: 1, Timer: timer}}, "sim: serving pool: KV tokens: want at least one block of 16 (got 0)"},
		{Config{Pool: Pool{Replicas: 0, Timer: timer}}, "sim: serving pool: replicas: want ≥ 1 (got 0)"},
		{Config{Pool: Pool{Replicas: 1, Timer: timer, Engine: EngineConfig{KVTokens: 64, SpecAcceptance: 2}}},
			"sim: serving pool: spec acceptance: want a probability in [0, 1] (got 2)"},
		{Config{Prefill: &Pool{Replicas: 1, Timer: timer, Engine: EngineConfig{KVTokens: 64}}, Pool: Pool{Replicas: 1, Timer: timer, Engine: EngineConfig{KVTokens: 64}}},
			"sim: transfer: want link bandwidth > 0, KV bytes per token ≥ 0 and latency ≥ 0, finite (got 0 B/s, 0 B/token, 0 s)"},
	} {
		_, err := Run(tc.cfg, workload.FromSlice(nil), rand.New(rand.NewPCG(1, 1)), nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("error %v\nwant  %s", err, tc.want)
		}
	}
	// Out-of-order arrivals are the source's bug, reported with the ID.
	src := workload.FromSlice([]workload.Request{{ID: 1, ArrivalS: 2, Input: 5, Output: 1}, {ID: 2, ArrivalS: 1, Input: 5, Output: 1}})
	_, err := Run(Config{Pool: Pool{Replicas: 1, Timer: timer, Engine: EngineConfig{KVTokens: 64}}}, src, rand.New(rand.NewPCG(1, 1)), nil)
	if want := "sim: request 2: arrival: want a finite time ≥ 2 s, the previous arrival (got 1 s)"; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}

func TestSketchAccuracy(t *testing.T) {
	var s Sketch
	rng := rand.New(rand.NewPCG(1, 1))
	vals := make([]float64, 100000)
	for i := range vals {
		vals[i] = math.Exp(rng.NormFloat64()*2 - 4)
		s.Add(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		if got := s.Quantile(q); math.Abs(got-exact) > exact/256 {
			t.Errorf("q%v = %v, exact %v: error %.3f%% over 0.39%%", q, got, exact, 100*math.Abs(got-exact)/exact)
		}
	}
}
