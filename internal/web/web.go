// Package web is ersatz's local web UI and JSON API. Every answer comes
// from running the command itself (plan, predict, chips, models) with
// --json, so the API returns exactly what the command line prints, and a
// bad parameter gets the command's own one-line error, as a 400. Long
// plans stream their progress as server-sent events; the page shows the
// plan's HTML report, the same page `plan --html` writes.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Runner runs one ersatz command line (args start with the command) and
// returns its exit code. create captures the files the command writes
// (plan --html); progress, when set, hears how far a plan is; ctx ends
// when the caller goes away, and the command may then stop early (a plan
// skips the verifications still to run).
type Runner func(ctx context.Context, args []string, stdout, stderr io.Writer, create func(path string) (io.WriteCloser, error), progress func(done, total int)) int

// Server answers the UI and the API.
type Server struct {
	Run Runner
	// Policies are the preset ids the form offers.
	Policies []string
	Version  string
	// Slots bounds the commands run at once (each plan is CPU-bound);
	// 0 means 2.
	Slots int

	once sync.Once
	sem  chan struct{}
}

//go:embed assets
var assets embed.FS

var index = template.Must(template.ParseFS(assets, "assets/index.html"))

// reportFile is the name plan --html is given; create captures it.
const reportFile = "report.html"

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	s.once.Do(func() {
		if s.Slots <= 0 {
			s.Slots = 2
		}
		s.sem = make(chan struct{}, s.Slots)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /assets/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.FileServerFS(assets).ServeHTTP(w, r)
	})
	for _, cmd := range []string{"plan", "predict", "chips", "models"} {
		mux.HandleFunc("/api/"+cmd, s.api(cmd))
	}
	mux.HandleFunc("/api/plan/events", s.events)
	return mux
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b bytes.Buffer
	if err := index.Execute(&b, s); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(b.Bytes())
}

// flagName is what a parameter may be called: a flag of the command.
var flagName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// reserved parameters are set by the server, not the caller.
var reserved = map[string]bool{"json": true, "csv": true, "html": true, "emit": true, "explain": true}

// argsOf turns the request's parameters (query or form) into the
// command's flags, in name order: ?model=M&rate=20 → --model=M --rate=20.
func argsOf(cmd string, r *http.Request) ([]string, error) {
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("ersatz %s: reading the parameters: %w", cmd, err)
	}
	keys := make([]string, 0, len(r.Form))
	for k := range r.Form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := []string{cmd}
	for _, k := range keys {
		if !flagName.MatchString(k) {
			return nil, fmt.Errorf("ersatz %s: parameter %q: want a flag name such as model or rate", cmd, k)
		}
		if reserved[k] {
			return nil, fmt.Errorf("ersatz %s: parameter %q: the server sets the output format", cmd, k)
		}
		for _, v := range r.Form[k] {
			if v == "" {
				continue
			}
			args = append(args, "--"+k+"="+v)
		}
	}
	return append(args, "--json"), nil
}

// outcome is one command's run.
type outcome struct {
	code           int
	stdout, stderr []byte
	report         []byte
}

// run runs args in a slot, capturing the report file if one is written.
func (s *Server) run(ctx context.Context, args []string, progress func(done, total int)) (*outcome, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	var out, errb bytes.Buffer
	files := map[string]*buffer{}
	create := func(path string) (io.WriteCloser, error) {
		b := &buffer{}
		files[path] = b
		return b, nil
	}
	o := &outcome{}
	o.code = s.Run(ctx, args, &out, &errb, create, progress)
	o.stdout, o.stderr = out.Bytes(), errb.Bytes()
	if f := files[reportFile]; f != nil {
		o.report = f.Bytes()
	}
	return o, nil
}

type buffer struct{ bytes.Buffer }

func (*buffer) Close() error { return nil }

// errorLine is the command's one-line error as the CLI prints it.
func errorLine(cmd string, stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "ersatz "+cmd+": ") || strings.HasPrefix(l, "ersatz: ") {
			return l
		}
	}
	if len(lines) > 0 && lines[len(lines)-1] != "" {
		return lines[len(lines)-1]
	}
	return fmt.Sprintf("ersatz %s: failed", cmd)
}

// failure is the API's error body.
type failure struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// status maps an exit code to HTTP: an answer on stdout is a 200 even
// when the command exits 1 (no plan qualifies: the JSON says why); an
// error with no answer is the caller's input, a 400.
func status(o *outcome) int {
	if o.code == 0 || o.code == 1 && len(o.stdout) > 0 {
		return http.StatusOK
	}
	return http.StatusBadRequest
}

// api answers /api/CMD with the command's --json output.
func (s *Server) api(cmd string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, failure{Error: "ersatz " + cmd + ": use GET or POST", ExitCode: 2})
			return
		}
		args, err := argsOf(cmd, r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, failure{Error: err.Error(), ExitCode: 2})
			return
		}
		o, err := s.run(r.Context(), args, nil)
		if err != nil {
			return // the caller went away
		}
		w.Header().Set("X-Ersatz-Exit-Code", fmt.Sprint(o.code))
		if st := status(o); st != http.StatusOK {
			writeJSON(w, st, failure{Error: errorLine(cmd, o.stderr), ExitCode: o.code})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(o.stdout)
	}
}

// result is the last event of a streamed plan.
type result struct {
	Status   int             `json:"status"`
	ExitCode int             `json:"exit_code"`
	Error    string          `json:"error,omitempty"`
	Plan     json.RawMessage `json:"plan,omitempty"`
	Report   string          `json:"report,omitempty"`
}

// events runs a plan and streams it as server-sent events: "progress"
// ({"done":N,"total":M} chips searched), then one "result" with the
// plan's JSON and its HTML report, or the error line and its status.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, failure{Error: "ersatz plan: streaming unsupported", ExitCode: 1})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(event string, v any) {
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		flusher.Flush()
	}
	args, err := argsOf("plan", r)
	if err != nil {
		send("result", result{Status: http.StatusBadRequest, ExitCode: 2, Error: err.Error()})
		return
	}
	args = append(args, "--html="+reportFile)
	flusher.Flush()
	progress := make(chan [2]int, 64)
	done := make(chan *outcome, 1)
	go func() {
		o, err := s.run(r.Context(), args, func(d, t int) {
			select {
			case progress <- [2]int{d, t}:
			default: // the page only needs the latest
			}
		})
		if err != nil {
			o = nil
		}
		done <- o
	}()
	for {
		select {
		case p := <-progress:
			send("progress", map[string]int{"done": p[0], "total": p[1]})
		case o := <-done:
			if o == nil {
				return
			}
			drain(progress, func(p [2]int) { send("progress", map[string]int{"done": p[0], "total": p[1]}) })
			res := result{Status: status(o), ExitCode: o.code}
			if res.Status == http.StatusOK {
				res.Plan, res.Report = o.stdout, string(o.report)
			} else {
				res.Error = errorLine("plan", o.stderr)
			}
			send("result", res)
			return
		}
	}
}

// drain hands on what is left in ch, without waiting: progress that came
// just before the result still reaches the page, in order.
func drain(ch chan [2]int, f func([2]int)) {
	for {
		select {
		case p := <-ch:
			f(p)
		default:
			return
		}
	}
}
