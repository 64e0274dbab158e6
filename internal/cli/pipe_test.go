package cli

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"

	"ersatz/internal/emulator"
	"ersatz/internal/sim"
)

// pipeNet is an in-memory network for tests inside a synctest bubble,
// where loopback sockets cannot be used: Dial hands one end of a net.Pipe
// to the listener's Accept.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// client returns an HTTP client whose connections go to the listener.
func (p *pipeNet) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: p.dial, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
}

// serveInBubble starts an emulator of cfg behind an in-memory network,
// inside the calling synctest bubble, and returns a client for it and the
// emulator; stop shuts everything down so the bubble can end.
func serveInBubble(t *testing.T, cfg sim.Config, maxLen int) (*http.Client, *emulator.Emulator, func()) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{Sim: cfg, Model: "m", MaxModelLen: maxLen})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go emu.Run(ctx)
	pn := newPipeNet()
	srv := &http.Server{Handler: emu}
	go srv.Serve(pn)
	client := pn.client()
	return client, emu, func() {
		client.CloseIdleConnections()
		srv.Close()
		cancel()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
