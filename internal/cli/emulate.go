package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"ersatz/internal/emulator"
	"ersatz/internal/serving"
)

func runEmulate(e *env, args []string) error {
	fs := newFlags(e, "emulate", "(--model M --chip C --chips N [deployment flags as simulate] | --scenario FILE) [--host H] [--port P] [--time-scale X]")
	ss := newSimSetup(fs, false)
	host := fs.String("host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	port := fs.Int("port", 8000, "port to listen on (0 picks a free one)")
	served := fs.String("served-model-name", "", "model name clients must send (default: --model, or the scenario's model)")
	timeScale := fs.Float64("time-scale", 1, "run the emulated engine this many times faster than real time (for tests)")
	drain := fs.Duration("drain-timeout", 60*time.Second, "on SIGTERM, how long in-flight streams may take to finish")
	seed := fs.Uint64("seed", 1, "random seed (speculative-decoding acceptance)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *port < 0 || *port > 65535 {
		return usagef("--port %d: want 0 to 65535", *port)
	}
	if !(*timeScale > 0) {
		return usagef("--time-scale %g: want a positive factor", *timeScale)
	}
	// --max-model-len (vLLM's spelling of --context) is the context limit:
	// prompt plus max_tokens; it also sizes the KV cache.
	maxLen := ss.d.context
	if maxLen == 0 {
		maxLen = emulator.DefaultMaxModelLen
	}
	if maxLen < 2 {
		return usagef("--max-model-len %d: want at least 2 tokens", maxLen)
	}
	dep, header, params, err := ss.deployment(e, fs)
	if err != nil {
		return err
	}
	cfg, err := serving.Config(dep, params, maxLen)
	if err != nil {
		return err
	}
	name := *served
	if name == "" {
		name = dep.Pool.Instance.Deployment().Model.ID
	}
	emu, err := emulator.New(emulator.Options{Sim: cfg, Model: name, MaxModelLen: maxLen, TimeScale: *timeScale, Seed: *seed})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	fmt.Fprintf(e.stderr, "ersatz emulate: %s\nersatz emulate: serving %q on http://%s (time scale %g)\n", header, name, ln.Addr(), *timeScale)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return serveEmulator(e, emu, ln, *drain, sigs)
}

// serveEmulator serves until a signal arrives on sigs, then stops
// admitting requests and lets in-flight streams finish within drain.
func serveEmulator(e *env, emu *emulator.Emulator, ln net.Listener, drain time.Duration, sigs <-chan os.Signal) error {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	engine := make(chan error, 1)
	go func() { engine <- emu.Run(ctx) }()
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case err := <-engine:
		srv.Close()
		return fmt.Errorf("emulated engine: %w", err)
	case sig := <-sigs:
		fmt.Fprintf(e.stderr, "ersatz emulate: %v: draining %d in-flight requests\n", sig, emu.InFlight())
	}
	emu.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		return fmt.Errorf("draining: %d requests still in flight after %v", emu.InFlight(), drain)
	}
	return err
}
