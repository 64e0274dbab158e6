package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"ersatz/internal/emulator"
	"ersatz/internal/openai"

	"ersatz/internal/loadgen"
	"ersatz/internal/perf"
	"ersatz/internal/serving"
	"ersatz/internal/sim"
	"ersatz/internal/workload"
)

// measureDeployment builds the deployment that simulate's flags describe.
func measureDeployment(t *testing.T, args ...string) (serving.Deployment, *perf.Params) {
	t.Helper()
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	fs := newFlags(e, "test", "")
	ss := newSimSetup(fs, false)
	if err := parse(fs, args); err != nil {
		t.Fatal(err)
	}
	dep, _, params, err := ss.deployment(e, fs)
	if err != nil {
		t.Fatal(err)
	}
	return dep, params
}

// load is an open-loop workload: Poisson arrivals, log-normal lengths
// (fixed ones when fixed is set).
type load struct {
	rate          float64
	requests      int
	input, output int
	seed          uint64
	fixed         bool
}

func (l load) source(t *testing.T) workload.Source {
	a, _ := workload.Poisson(l.rate)
	in, _ := workload.LogNormal(float64(l.input), float64(l.input)/2)
	out, _ := workload.LogNormal(float64(l.output), float64(l.output)/2)
	if l.fixed {
		in, _ = workload.Fixed(l.input)
		out, _ = workload.Fixed(l.output)
	}
	g, err := workload.NewGenerator(workload.GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: l.requests},
		rand.New(rand.NewPCG(l.seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

const measureMaxLen = 16384 // context limit, and the KV sizing of both runs

// emulateAndBench serves dep from an emulator and benchmarks it with the
// load, inside a synctest bubble: time is virtual, so the measurement sees
// the emulator's timing without the host's scheduling noise, and the run
// takes only the CPU it needs.
func emulateAndBench(t *testing.T, dep serving.Deployment, params *perf.Params, l load, endpoint string) *loadgen.Result {
	t.Helper()
	var res *loadgen.Result
	synctest.Test(t, func(t *testing.T) {
		cfg, err := serving.Config(dep, params, measureMaxLen)
		if err != nil {
			t.Fatal(err)
		}
		client, _, stop := serveInBubble(t, cfg, measureMaxLen)
		defer stop()
		res, err = loadgen.Run(context.Background(), loadgen.Config{URL: "http://emulator", Endpoint: endpoint, Model: "m",
			Items: loadgen.Synthetic{Source: l.source(t)}, Client: client, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
	})
	return res
}

func simulateLoad(t *testing.T, dep serving.Deployment, params *perf.Params, l load) *sim.Summary {
	t.Helper()
	cfg, err := serving.Config(dep, params, measureMaxLen)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := sim.Run(cfg, l.source(t), rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestBenchReproducesSimulate is the acceptance check of the measurement
// loop: ersatz bench against ersatz emulate measures what ersatz simulate
// predicts for the same deployment and load: mean TTFT and TPOT within 5%,
// p90 within 10%.
func TestBenchReproducesSimulate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		load     load
		endpoint string
	}{
		{"dense 1×H100", []string{"--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1"},
			load{rate: 4, requests: 150, input: 512, output: 64, seed: 1}, loadgen.EndpointCompletions},
		{"MoE 2×H100", []string{"--model", "Qwen/Qwen3-30B-A3B", "--chip", "h100", "--chips", "2"},
			load{rate: 8, requests: 150, input: 512, output: 64, seed: 2}, loadgen.EndpointChat},
		{"disaggregated 1P1D H100", []string{"--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1", "--prefill-replicas", "1"},
			load{rate: 4, requests: 150, input: 1024, output: 64, seed: 3}, loadgen.EndpointChat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled {
				tc.load.requests /= 3
			}
			dep, params := measureDeployment(t, tc.args...)
			want := simulateLoad(t, dep, params, tc.load)
			got := emulateAndBench(t, dep, params, tc.load, tc.endpoint)
			if got.Completed != tc.load.requests || got.Failed != 0 {
				t.Fatalf("bench: %d completed, %d failed (%v), want %d and 0", got.Completed, got.Failed, got.ErrorsByKind, tc.load.requests)
			}
			for _, c := range []struct {
				name      string
				got, want float64
				tol       float64
			}{
				{"mean TTFT", got.MeanTTFTMs, want.TTFT.MeanS * 1e3, 0.05},
				{"mean TPOT", got.MeanTPOTMs, want.TPOT.MeanS * 1e3, 0.05},
				{"p90 TTFT", got.P90TTFTMs, want.TTFT.P90S * 1e3, 0.10},
				{"p90 TPOT", got.P90TPOTMs, want.TPOT.P90S * 1e3, 0.10},
			} {
				if rel := math.Abs(c.got/c.want - 1); !(rel <= c.tol) {
					t.Errorf("%s: bench %.3f ms, simulate %.3f ms (%.1f%% off, want ≤ %.0f%%)", c.name, c.got, c.want, rel*100, c.tol*100)
				} else {
					t.Logf("%s: bench %.3f ms, simulate %.3f ms (%.2f%% off)", c.name, c.got, c.want, rel*100)
				}
			}
		})
	}
}

// TestEmulateDrains: on SIGTERM the emulator finishes the stream in
// flight, with [DONE], and refuses new work.
func TestEmulateDrains(t *testing.T) {
	dep, params := measureDeployment(t, "--model", "Qwen/Qwen3-14B", "--chip", "h100", "--chips", "1")
	cfg, err := serving.Config(dep, params, 4096)
	if err != nil {
		t.Fatal(err)
	}
	emu, err := emulator.New(emulator.Options{Sim: cfg, Model: "m", MaxModelLen: 4096, TimeScale: 10})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sigs := make(chan os.Signal, 1)
	var stderr bytes.Buffer
	served := make(chan error, 1)
	go func() { served <- serveEmulator(&env{stdout: io.Discard, stderr: &stderr}, emu, ln, time.Minute, sigs) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"abcd","max_tokens":200,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := openai.NewReader(resp.Body, 0)
	signalled := false
	tokens := 0
	for {
		data, err := r.Next()
		if err != nil {
			t.Fatalf("stream cut after %d tokens: %v", tokens, err)
		}
		if string(data) == openai.Done {
			break
		}
		var c openai.Completion
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		for _, ch := range c.Choices {
			tokens += openai.CountTokens(ch.Text)
		}
		if tokens > 0 && len(sigs) == 0 && !signalled {
			sigs <- syscall.SIGTERM // the request is in flight
			signalled = true
		}
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if tokens != 200 || !strings.Contains(stderr.String(), "draining 1 in-flight") {
		t.Fatalf("%d tokens, stderr %q; want 200 and a drain of 1", tokens, stderr.String())
	}
	if _, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"abcd"}`)); err == nil {
		t.Fatal("after the drain: a new request was served")
	}
}
