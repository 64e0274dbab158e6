//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive `ersatz serve` and open a `plan --html` report in
// headless Chromium (Debian's chromium package). They install it once if
// it is missing and they may (root with apt-get), under a lock so that
// parallel test binaries do not race, and skip with the reason otherwise.
// Screenshots go to $ERSATZ_ARTIFACTS, or artifacts/ at the repository
// root (ignored by git).

var browserPaths = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

func findBrowser() string {
	for _, name := range browserPaths {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns Chromium's path, installing it once if it can.
func browser(t *testing.T) string {
	t.Helper()
	if p := findBrowser(); p != "" {
		return p
	}
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "ersatz-chromium.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Skipf("no chromium, and no lock to install it under: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Skipf("no chromium, and no lock to install it under: %v", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if p := findBrowser(); p != "" { // another test binary installed it
		return p
	}
	// One try per machine: the lock file remembers a failed one.
	if prev, _ := os.ReadFile(lock.Name()); len(prev) > 0 {
		t.Skipf("no chromium; installing it failed before: %s", prev)
	}
	why := "apt-get is not available, or the tests do not run as root"
	if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "chromium").CombinedOutput()
		if p := findBrowser(); err == nil && p != "" {
			return p
		}
		why = fmt.Sprintf("apt-get install -y chromium: %v: %s", err, lastLine(out))
	}
	lock.Truncate(0)
	lock.WriteAt([]byte(why), 0)
	t.Skipf("no chromium (install Debian's chromium package to run the browser tests): %s", why)
	return ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// artifacts is where screenshots are kept.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ERSATZ_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab records what a page does: console errors, exceptions, log errors and
// every request it sends.
type tab struct {
	mu       sync.Mutex
	errors   []string
	requests []string
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tb.errors = append(tb.errors, "console."+string(e.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		tb.errors = append(tb.errors, "exception: "+(&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			tb.errors = append(tb.errors, "log: "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, e.Request.URL)
	case *page.EventJavascriptDialogOpening:
		tb.errors = append(tb.errors, "dialog: "+e.Message)
	}
}

func (tb *tab) check(t *testing.T) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errors {
		t.Errorf("browser: %s", e)
	}
}

// chartMarks reads each chart of a document: its id, the marks it says it
// drew, and the marks in the SVG.
const chartMarks = `[...%s.querySelectorAll("svg[data-chart]")].map(s => [s.dataset.chart, +s.dataset.marks, s.querySelectorAll(".mark").length])`

func marks(t *testing.T, ctx context.Context, doc string) map[string]int {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]any](fmt.Sprintf(chartMarks, doc)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		id, said, drawn := r[0].(string), int(r[1].(float64)), int(r[2].(float64))
		if said != drawn {
			t.Errorf("chart %s: says %d marks, has %d", id, said, drawn)
		}
		got[id] = drawn
	}
	return got
}

// wantMarks is what the charts must draw for a plan: the cost chart a bar
// and a band per plan and the fleet, the Pareto chart a point per plan
// screened (each chip's best and alternatives, the pairings, the fleet).
func wantMarks(t *testing.T, planJSON []byte) map[string]int {
	t.Helper()
	var res struct {
		Chips []struct {
			Best   *struct{}  `json:"best"`
			Others []struct{} `json:"alternatives"`
		} `json:"chips"`
		Cross    []struct{} `json:"cross_chip"`
		Baseline *struct{}  `json:"baseline"`
	}
	if err := json.Unmarshal(planJSON, &res); err != nil {
		t.Fatal(err)
	}
	rows, points := 0, len(res.Cross)
	if res.Baseline != nil {
		rows, points = 1, points+1
	}
	for _, c := range res.Chips {
		if c.Best != nil {
			rows++
			points += 1 + len(c.Others)
		}
	}
	return map[string]int{"cost": 2 * rows, "pareto": points}
}

func newBrowser(t *testing.T) (context.Context, func()) {
	bin := browser(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1200, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		t.Skipf("chromium %s does not start: %v", bin, err)
	}
	return bctx, func() { cancelB(); cancelA() }
}

// openTab opens a tab on the browser with a deadline and a recorder.
func openTab(t *testing.T, bctx context.Context) (context.Context, *tab, func()) {
	ctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	ctx, cancelC := chromedp.NewContext(ctx)
	tb := &tab{}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatal(err)
	}
	return ctx, tb, func() { cancelC(); cancelT() }
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The small plan the browser tests make: one model, three chips, a fleet
// to replace, no simulation.
func browserPlan(policy, chips string) []string {
	return []string{"--model", "Qwen/Qwen3-8B", "--rate", "4", "--input-tokens", "1000", "--output-tokens", "200", "--ttft-p90", "1s", "--tpot-p90", "40ms",
		"--policy", policy, "--chip", chips, "--baseline", "2xh20", "--verify", "0"}
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests skipped with -short")
	}
	bctx, stop := newBrowser(t)
	defer stop()
	planJSON, stderr, code := cliRun(append(append([]string{"plan"}, browserPlan("cn-domestic", "l20,ascend-910b2,ascend-910c")...), "--json")...)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	want := wantMarks(t, []byte(planJSON))

	t.Run("serve", func(t *testing.T) {
		srv := httptest.NewServer((&env{getenv: func(string) string { return "" }}).server("").Handler())
		defer srv.Close()
		ctx, tb, done := openTab(t, bctx)
		defer done()
		fields := map[string]string{"model": "Qwen/Qwen3-8B", "rate": "4", "input-tokens": "1000", "output-tokens": "200", "ttft": "1s", "tpot": "40ms",
			"chip": "l20,ascend-910b2,ascend-910c", "baseline": "2xh20", "verify": "0"}
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL), chromedp.WaitVisible("#go")}
		for name, v := range fields {
			steps = append(steps, chromedp.SetValue(fmt.Sprintf(`[name="%s"]`, name), v))
		}
		steps = append(steps, chromedp.SetValue(`[name="policy"]`, "cn-domestic"), chromedp.Click("#go"), chromedp.WaitVisible("#headline"))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
		// The report draws in its frame once the frame has loaded.
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const d = document.getElementById("report").contentDocument; return !!(d && d.querySelector('svg[data-chart="step"]')); })()`)); err != nil {
			t.Fatal(err)
		}
		headline, err := chromedp.Run(ctx, chromedp.Text("#headline"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(headline, " 2 × h20 for 4 req/s") {
			t.Errorf("headline %q: want the one-sentence answer", headline)
		}
		got := marks(t, ctx, `document.getElementById("report").contentDocument`)
		for id, n := range want {
			if got[id] != n {
				t.Errorf("chart %s in the UI: %d marks, want %d", id, got[id], n)
			}
		}
		for _, id := range []string{"tpot-curve", "ttft-curve", "step"} {
			if got[id] == 0 {
				t.Errorf("chart %s in the UI: no marks", id)
			}
		}
		// The table sorts by $/h when its header is clicked.
		costs, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const d = document.getElementById("report").contentDocument;
			const th = [...d.querySelectorAll("#plan-table th")].find(h => h.textContent === "$/h");
			th.click();
			return [...d.querySelectorAll("#plan-table tbody tr")].map(r => +r.cells[+th.dataset.col].dataset.sort);
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(costs); i++ {
			if costs[i] < costs[i-1] {
				t.Errorf("table sorted by $/h: %v", costs)
				break
			}
		}
		// The frame has grown to the report's height; the shot shows it all.
		screenshot(t, ctx, "serve.png")
		tb.check(t)
	})

	t.Run("report offline", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "plan.html")
		args := append([]string{"plan", "--catalog", "testdata/evil"}, browserPlan("cn-domestic,testdata/evil-policy.yaml", "l20,ascend-910b2,ascend-910c,x-evil")...)
		if _, stderr, code := cliRun(append(args, "--html", file)...); code != 0 {
			t.Fatalf("plan --html: exit %d: %s", code, stderr)
		}
		ctx, tb, done := openTab(t, bctx)
		defer done()
		// No network: every http(s) address is blocked, and the test checks
		// that the page asked for nothing but itself.
		blocked := []*network.BlockPattern{{URLPattern: "http://*:*/*", Block: true}, {URLPattern: "https://*:*/*", Block: true}}
		if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: blocked}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(`svg[data-chart="step"]`)); err != nil {
			t.Fatal(err)
		}
		got := marks(t, ctx, "document")
		if got["cost"] < want["cost"] || got["pareto"] < want["pareto"] {
			t.Errorf("report charts %v: want at least %v (one chip more than the UI's plan)", got, want)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, `<script>alert("name")</script> Evil NPU`) {
			t.Error("the chip's name with <script> does not show as text")
		}
		if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.scripts.length`)); n != 1 {
			t.Errorf("%d scripts in the page, want its own", n)
		}
		screenshot(t, ctx, "report.png")
		tb.mu.Lock()
		for _, u := range tb.requests {
			if u != "file://"+file {
				t.Errorf("the report asked for %s", u)
			}
		}
		tb.mu.Unlock()
		tb.check(t)
	})
}
