package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"ersatz/internal/web"
)

func runServe(e *env, args []string) error {
	fs := newFlags(e, "serve", "[--host 127.0.0.1] [--port 8080] [--catalog DIR]")
	host := fs.String("host", "127.0.0.1", "address to listen on (0.0.0.0 exposes the UI to the network)")
	port := fs.Int("port", 8080, "port to listen on (0: any free port)")
	var cats catalogs
	cats.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *port < 0 || *port > 65535 {
		return usagef("--port %d: want 0 to 65535", *port)
	}
	if _, err := cats.hardware(e); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("--host %s --port %d: %w", *host, *port, err)
	}
	srv := &http.Server{Handler: e.server(cats.dir).Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stderr, "ersatz serve: http://%s/ (Ctrl-C stops)\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// server is the web UI over this env: each API call runs the command in an
// env of its own, with the serve's catalog as the default.
func (e *env) server(catalog string) *web.Server {
	getenv := e.getenv
	if catalog != "" {
		getenv = func(k string) string {
			if k == "ERSATZ_CATALOG" {
				return catalog
			}
			return e.getenv(k)
		}
	}
	return &web.Server{
		Version:  Version,
		Policies: policyIDs(),
		Run: func(ctx context.Context, args []string, stdout, stderr io.Writer, create func(string) (io.WriteCloser, error), progress func(done, total int)) int {
			sub := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: getenv, create: create, progress: progress,
				interrupt: func() interrupter { return callerGone{ctx} }}
			return run(sub, args)
		},
	}
}

// callerGone stops a served command when its caller goes away (or the
// server shuts down), in place of the terminal's signals: a plan skips
// the verifications still to run, a simulation stops.
type callerGone struct{ ctx context.Context }

func (c callerGone) drain() bool       { return c.ctx.Err() != nil }
func (c callerGone) halt() bool        { return c.ctx.Err() != nil }
func (c callerGone) signal() os.Signal { return nil }
