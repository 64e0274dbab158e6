package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fake is a Runner that records the command lines and answers as a
// command would: a JSON line, an error line, or a report file.
type fake struct {
	mu   sync.Mutex
	args [][]string
}

func (f *fake) run(_ context.Context, args []string, stdout, stderr io.Writer, create func(string) (io.WriteCloser, error), progress func(done, total int)) int {
	f.mu.Lock()
	f.args = append(f.args, args)
	f.mu.Unlock()
	flags := strings.Join(args, " ")
	switch {
	case strings.Contains(flags, "--model=bad"):
		fmt.Fprintln(stderr, "flag provided but not defined: -x")
		fmt.Fprintln(stderr, "ersatz "+args[0]+`: --model: unknown model "bad"`)
		return 1
	case strings.Contains(flags, "--rate=-1"):
		fmt.Fprintln(stderr, "ersatz plan: give --rate")
		fmt.Fprintln(stderr, "Try: ersatz plan -h")
		return 2
	case strings.Contains(flags, "--rate=0.001"): // no plan qualifies: an answer, exit 1
		fmt.Fprintln(stdout, `{"why": "nothing fits"}`)
		fmt.Fprintln(stderr, "ersatz plan: no plan: nothing fits")
		return 1
	}
	for i := 1; i <= 3; i++ {
		if progress != nil {
			progress(i, 3)
		}
	}
	for _, a := range args {
		if path, ok := strings.CutPrefix(a, "--html="); ok {
			w, _ := create(path)
			io.WriteString(w, "<p>report</p>")
			w.Close()
		}
	}
	fmt.Fprintf(stdout, "{\"args\": %q}\n", flags)
	return 0
}

func serve(t *testing.T) (*httptest.Server, *fake) {
	f := &fake{}
	srv := httptest.NewServer((&Server{Run: f.run, Policies: []string{"none", "cn-domestic"}, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return srv, f
}

func TestAPIStatus(t *testing.T) {
	srv, f := serve(t)
	for _, tc := range []struct {
		query  string
		status int
		body   string
	}{
		// Parameters become flags in name order, with --json last.
		{"rate=2&model=M", 200, `{"args": "plan --model=M --rate=2 --json"}`},
		{"model=bad", 400, `"error": "ersatz plan: --model: unknown model \"bad\""`},
		{"rate=-1", 400, `"exit_code": 2`},
		{"rate=0.001", 200, `{"why": "nothing fits"}`},
		{"json=true", 400, `parameter \"json\": the server sets the output format`},
		{"Model=M", 400, `parameter \"Model\": want a flag name`},
		{"model=M&chips=", 200, `{"args": "plan --model=M --json"}`}, // empty fields are left out
	} {
		resp, err := http.Get(srv.URL + "/api/plan?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("?%s: %d %s, want %d with %s", tc.query, resp.StatusCode, body, tc.status, tc.body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("?%s: content type %q", tc.query, ct)
		}
	}
	// A form POST is the same call.
	resp, err := http.PostForm(srv.URL+"/api/predict", url.Values{"chip": {"h20"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"args": "predict --chip=h20 --json"}`; !strings.Contains(string(body), want) {
		t.Errorf("POST /api/predict: %s, want %s", body, want)
	}
	if len(f.args) != 6 { // the refused parameters never reach a command
		t.Errorf("%d commands run, want 6", len(f.args))
	}
}

func TestEvents(t *testing.T) {
	srv, _ := serve(t)
	for _, tc := range []struct {
		query, want string
	}{
		{"model=M", `"report":"\u003cp\u003ereport\u003c/p\u003e"`},
		{"model=bad", `"status":400,"exit_code":1,"error":"ersatz plan: --model: unknown model \"bad\""`},
		{"html=x", `"status":400,"exit_code":2,"error":"ersatz plan: parameter \"html\"`},
	} {
		resp, err := http.Get(srv.URL + "/api/plan/events?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		var last string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events = append(events, ev)
			}
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				last = d
			}
		}
		resp.Body.Close()
		if len(events) == 0 || events[len(events)-1] != "result" || !strings.Contains(last, tc.want) {
			t.Errorf("?%s: events %v, last %s, want %s", tc.query, events, last, tc.want)
		}
		if tc.query == "model=M" {
			var r result
			if err := json.Unmarshal([]byte(last), &r); err != nil || !json.Valid(r.Plan) || len(events) != 4 {
				t.Errorf("?%s: %d events, result %+v (%v)", tc.query, len(events), r, err)
			}
		}
	}
}

func TestIndexEscapes(t *testing.T) {
	f := &fake{}
	srv := httptest.NewServer((&Server{Run: f.run, Policies: []string{"<b>x</b>"}}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<option>&lt;b&gt;x&lt;/b&gt;</option>") {
		t.Errorf("policy ids are not escaped in the form")
	}
}
