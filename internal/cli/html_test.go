package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// planHTML runs plan --html into a temporary file and returns the page.
func planHTML(t *testing.T, args string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plan.html")
	var stdout, stderr bytes.Buffer
	code := Main(append(strings.Fields(args), "--html", out), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("ersatz %s: exit %d: %s", args, code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A catalog entry, a source and a policy whose strings hold markup render
// as text: the page's only script is its own, and a javascript: URL is
// neutralised.
func TestHTMLReportEscapes(t *testing.T) {
	page := planHTML(t, "plan --catalog testdata/evil --policy testdata/evil-policy.yaml --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --chip x-evil --baseline 2xh20 --verify 0")
	for _, want := range []string{
		`x-evil: &lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; Evil NPU`, // the chip's name, as text
		`&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;`,                // the policy's reason
		`&lt;/td&gt;&lt;script&gt;alert(&#39;source&#39;)&lt;/script&gt;`,     // a source title
		`&lt;img src=x onerror=alert(1)&gt;`,                                  // a value's note
		`href="#ZgotmplZ"`,                                                    // the javascript: URL
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("page has %d <script> elements, want its own one", n)
	}
	if strings.Contains(page, "javascript:") {
		t.Error("page holds a javascript: URL")
	}
}

// The page loads nothing: no external stylesheet, image, font or script,
// and every http(s) address is a link to a source, not a resource.
func TestHTMLReportSelfContained(t *testing.T) {
	page := planHTML(t, "plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --ttft-p90 1s --chip l20,ascend-910b2,h20 --policy cn-domestic --verify 0")
	for _, bad := range []string{"<link", " src=", "url(", "@import", "<iframe", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	addr := regexp.MustCompile(`(.{6})https?://`)
	for _, m := range addr.FindAllStringSubmatch(page, -1) {
		if m[1] != `href="` {
			t.Errorf("address outside a link: %q", m[0])
		}
	}
	if !strings.Contains(page, `default-src 'none'`) {
		t.Error("page has no content security policy forbidding loads")
	}
	// Each chart says how many data marks it drew, and draws that many:
	// the cost chart a bar and a band per chip (3 chips have plans), the
	// step chart a segment per component.
	charts := regexp.MustCompile(`(?s)<svg[^>]*data-chart="([a-z-]+)" data-marks="(\d+)".*?</svg>`).FindAllStringSubmatch(page, -1)
	got := map[string]int{}
	for _, c := range charts {
		n, _ := strconv.Atoi(c[2])
		if drawn := regexp.MustCompile(`class="[^"]*\bmark\b`).FindAllString(c[0], -1); len(drawn) != n {
			t.Errorf("chart %s: data-marks %d, %d marks drawn", c[1], n, len(drawn))
		}
		got[c[1]] = n
	}
	for _, id := range []string{"cost", "pareto", "tpot-curve", "ttft-curve", "step"} {
		if got[id] == 0 {
			t.Errorf("chart %s missing or empty (charts: %v)", id, got)
		}
	}
	if got["cost"] != 6 {
		t.Errorf("cost chart: %d marks, want 6 (a bar and a band for each of 3 chips)", got["cost"])
	}
}

func TestHTMLBadPath(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main(strings.Fields("plan --model Qwen/Qwen3-8B --rate 2 --input-tokens 500 --output-tokens 100 --tpot-p90 50ms --html /nonexistent/dir/x.html"), strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	if code != 2 || !strings.Contains(stderr.String(), "--html /nonexistent/dir/x.html: directory /nonexistent/dir does not exist") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
