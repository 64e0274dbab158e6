package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// cliRun runs a command line as the terminal would.
func cliRun(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = Main(args, strings.NewReader(""), &o, &e, func(string) string { return "" })
	return o.String(), e.String(), code
}

func get(t *testing.T, srv *httptest.Server, path string, q url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

var smallPlan = url.Values{"model": {"Qwen/Qwen3-8B"}, "rate": {"2"}, "input-tokens": {"500"}, "output-tokens": {"100"},
	"tpot-p90": {"50ms"}, "chip": {"l20,ascend-910b2"}, "verify": {"0"}, "policy": {"cn-domestic"}}

// The API's answers are the commands' --json output, byte for byte.
func TestServeAPIIsTheCommand(t *testing.T) {
	srv := httptest.NewServer((&env{getenv: func(string) string { return "" }}).server("").Handler())
	defer srv.Close()
	for _, tc := range []struct {
		path string
		q    url.Values
		args []string
	}{
		{"/api/plan", smallPlan, []string{"plan", "--model", "Qwen/Qwen3-8B", "--rate", "2", "--input-tokens", "500", "--output-tokens", "100",
			"--tpot-p90", "50ms", "--chip", "l20,ascend-910b2", "--verify", "0", "--policy", "cn-domestic", "--json"}},
		{"/api/predict", url.Values{"model": {"Qwen/Qwen3-8B"}, "chip": {"h20"}, "chips": {"1"}, "rate": {"2"}},
			[]string{"predict", "--model", "Qwen/Qwen3-8B", "--chip", "h20", "--chips", "1", "--rate", "2", "--json"}},
		{"/api/chips", url.Values{"vendor": {"huawei"}}, []string{"chips", "--vendor", "huawei", "--json"}},
		{"/api/models", nil, []string{"models", "--json"}},
	} {
		status, body := get(t, srv, tc.path, tc.q)
		want, _, code := cliRun(tc.args...)
		if code != 0 || status != http.StatusOK || string(body) != want {
			t.Errorf("%s: status %d (CLI exit %d); body equals the CLI's: %v\n%.300s", tc.path, status, code, string(body) == want, body)
		}
	}
}

// Bad input gets the command's one-line error, as a 400 JSON.
func TestServeBadInput(t *testing.T) {
	srv := httptest.NewServer((&env{getenv: func(string) string { return "" }}).server("").Handler())
	defer srv.Close()
	for _, tc := range []struct {
		q    url.Values
		args []string
		code int
	}{
		{url.Values{"model": {"nope/Nope-1B"}, "rate": {"2"}, "input-tokens": {"5"}, "output-tokens": {"5"}, "tpot-p90": {"50ms"}},
			[]string{"plan", "--input-tokens=5", "--model=nope/Nope-1B", "--output-tokens=5", "--rate=2", "--tpot-p90=50ms", "--json"}, 1},
		{url.Values{"model": {"Qwen/Qwen3-8B"}, "rate": {"-1"}, "input-tokens": {"5"}, "output-tokens": {"5"}, "tpot-p90": {"50ms"}},
			[]string{"plan", "--input-tokens=5", "--model=Qwen/Qwen3-8B", "--output-tokens=5", "--rate=-1", "--tpot-p90=50ms", "--json"}, 2},
		{url.Values{"model": {"Qwen/Qwen3-8B"}, "frobnicate": {"1"}},
			[]string{"plan", "--frobnicate=1", "--model=Qwen/Qwen3-8B", "--json"}, 2},
	} {
		status, body := get(t, srv, "/api/plan", tc.q)
		_, stderr, code := cliRun(tc.args...)
		var got struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exit_code"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%v: %v in %s", tc.q, err, body)
		}
		line := ""
		for _, l := range strings.Split(stderr, "\n") {
			if strings.HasPrefix(l, "ersatz plan: ") {
				line = l
				break
			}
		}
		if status != http.StatusBadRequest || got.Error != line || line == "" || got.ExitCode != tc.code || code != tc.code {
			t.Errorf("%v: status %d, %+v; CLI exit %d, %q", tc.q, status, got, code, line)
		}
	}
	status, body := get(t, srv, "/api/plan", url.Values{"html": {"/etc/x"}})
	if status != http.StatusBadRequest || !strings.Contains(string(body), `parameter \"html\": the server sets the output format`) {
		t.Errorf("html parameter: %d %s", status, body)
	}
}

// A streamed plan reports each chip searched, then the plan's JSON and
// its HTML report.
func TestServePlanEvents(t *testing.T) {
	srv := httptest.NewServer((&env{getenv: func(string) string { return "" }}).server("").Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/plan/events?" + smallPlan.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var events []string
	var last string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, ev)
		}
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			last = d
		}
	}
	if len(events) < 2 || events[len(events)-1] != "result" || events[0] != "progress" {
		t.Fatalf("events %v: want progress, then a result", events)
	}
	var res struct {
		Status int             `json:"status"`
		Plan   json.RawMessage `json:"plan"`
		Report string          `json:"report"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || !strings.Contains(res.Report, `data-chart="cost"`) || !json.Valid(res.Plan) {
		t.Errorf("result: status %d, report %d bytes, plan %.100s", res.Status, len(res.Report), res.Plan)
	}
}

func TestServeIndex(t *testing.T) {
	srv := httptest.NewServer((&env{getenv: func(string) string { return "" }}).server("").Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/": `<option selected>cn-domestic</option>`, "/assets/app.js": "EventSource", "/assets/app.css": "--rec"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
}

// A served plan whose caller has gone skips the verifications still to
// run, as Ctrl-C does on the terminal.
func TestServeStopsWhenCallerGoes(t *testing.T) {
	s := (&env{getenv: func(string) string { return "" }}).server("")
	args := []string{"plan", "--model", "Qwen/Qwen3-8B", "--rate", "2", "--input-tokens", "500", "--output-tokens", "100", "--tpot-p90", "50ms",
		"--chip", "l20", "--verify-requests", "200", "--json"}
	for _, gone := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		if gone {
			cancel()
		}
		var out, errb bytes.Buffer
		code := s.Run(ctx, args, &out, &errb, nil, nil)
		cancel()
		if verified := strings.Contains(out.String(), `"verified"`); code != 0 || verified == gone {
			t.Errorf("caller gone %v: exit %d, plans verified %v (%s)", gone, code, verified, errb.String())
		}
	}
}
