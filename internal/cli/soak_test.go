package cli

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"ersatz/internal/loadgen"
	"ersatz/internal/serving"
	"ersatz/internal/workload"
)

// TestSoakShort is the CI version of scripts/soak.sh: soakStreams
// concurrent streams held against the emulator for 30 s of emulated time
// (a synctest bubble, so a few seconds of CPU), with the live heap
// sampled every 5 s. Sixteen sequences run at a time and the rest wait
// in the queue, streams open, so that the test costs seconds. Memory must
// follow requests in flight, not requests served: after the first sample the heap may not grow by more than what
// the load generator keeps per finished request, and the emulator must
// end with nothing held.
func TestSoakShort(t *testing.T) {
	seqs := "16"
	if raceEnabled {
		seqs = "4"
	}
	dep, params := measureDeployment(t, "--model", "Qwen/Qwen3-32B", "--chip", "h100", "--chips", "1", "--max-num-seqs", seqs)
	const maxLen = 4096
	cfg, err := serving.Config(dep, params, maxLen)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		client, emu, stop := serveInBubble(t, cfg, maxLen)
		defer stop()
		a, _ := workload.Constant(1e9)
		in, _ := workload.Fixed(256)
		out, _ := workload.Fixed(64)
		g, _ := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: 1 << 30}, rand.New(rand.NewPCG(1, 1)))
		var heap []uint64
		done, sampled := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(5 * time.Second)
			defer tick.Stop()
			var ms runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					runtime.GC()
					runtime.ReadMemStats(&ms)
					heap = append(heap, ms.HeapAlloc)
				}
			}
		}()
		// The run ends at 30 s with every stream still open: they are
		// cancelled, which the emulator must also clean up after.
		run, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		res, err := loadgen.Run(run, loadgen.Config{URL: "http://emulator", Endpoint: loadgen.EndpointChat, Model: "m",
			Items: loadgen.Synthetic{Source: g}, Client: client, Concurrency: soakStreams, IgnoreEOS: true})
		close(done)
		<-sampled // the sampler has stopped appending to heap
		if err != nil {
			t.Fatal(err)
		}
		if res.Failed != res.ErrorsByKind[loadgen.KindCancelled] || res.Failed < soakStreams-16 || res.Completed == 0 {
			t.Errorf("%d completed, %d failed (%v); want the %d streams open at the end cancelled and nothing else failed", res.Completed, res.Failed, res.ErrorsByKind, soakStreams)
		}
		for emu.InFlight() > 0 {
			time.Sleep(time.Millisecond) // fake time: the handlers see their clients gone
		}
		if n := emu.InFlight(); n != 0 {
			t.Errorf("emulator holds %d requests after the run, want 0", n)
		}
		// The load generator keeps each finished request's inter-token
		// gaps (8 bytes a token) and about 200 bytes of lists.
		allowance := uint64(res.Completed)*(8*64+200) + 4<<20
		t.Logf("%d streams, %d completed, %d output tokens; heap every 5 s (MB): %v", soakStreams, res.Completed, res.TotalOutputTokens, mb(heap))
		for i, h := range heap[1:] {
			if h > heap[0]+allowance {
				t.Errorf("heap at %d s: %.1f MB, more than %.1f MB at 5 s plus %.1f MB for finished requests", 5*(i+2), float64(h)/1e6, float64(heap[0])/1e6, float64(allowance)/1e6)
			}
		}
	})
}

func mb(xs []uint64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x/100_000) / 10
	}
	return out
}
