package emulator

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const nodeClient = `
const OpenAI = require('openai');
const client = new OpenAI({ baseURL: process.env.BASE + '/v1', apiKey: 'unused' });
(async () => {
  const messages = [{ role: 'user', content: 'hello there' }];
  const stream = await client.chat.completions.create({ model: 'm', messages, max_tokens: 5, stream: true,
    stream_options: { include_usage: true } });
  let text = '', chunks = 0, usage = null, finish = null;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) { text += ch.delta.content || ''; if (ch.finish_reason) finish = ch.finish_reason; }
  }
  const plain = await client.chat.completions.create({ model: 'm', messages, max_tokens: 3 });
  console.log(JSON.stringify({ text, chunks, usage, finish, plain: plain.choices[0].message.content, plainUsage: plain.usage }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`

// nodeOpenAI returns node and a directory holding the openai npm package,
// installing Debian's nodejs and npm and the package (once, into the user
// cache) when they are missing. It skips the test only when it cannot.
func nodeOpenAI(t *testing.T) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the OpenAI npm client test needs node")
	}
	node, err := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err != nil || err2 != nil {
		if out, err := exec.Command("apt-get", "install", "-y", "-q", "nodejs", "npm").CombinedOutput(); err != nil {
			t.Skipf("node and npm are missing and apt-get install nodejs npm failed: %v: %.300s", err, out)
		}
		if node, err = exec.LookPath("node"); err != nil {
			t.Skipf("node is missing after apt-get install nodejs: %v", err)
		}
		if npm, err = exec.LookPath("npm"); err != nil {
			t.Skipf("npm is missing after apt-get install npm: %v", err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "ersatz-test", "openai-npm-v4")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err == nil {
		return node, dir
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
			tmp, err = os.MkdirTemp(filepath.Dir(dir), "install-")
		}
		if err != nil {
			t.Skipf("no directory to install the openai npm package in: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", tmp, "openai@4")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		t.Skipf("cannot install the openai npm package: %v: %.300s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openai")); statErr != nil {
			t.Fatalf("installing the openai npm package: %v", err)
		}
	}
	return node, dir
}

type usage struct {
	Prompt     int `json:"prompt_tokens"`
	Completion int `json:"completion_tokens"`
	Total      int `json:"total_tokens"`
}

// TestOpenAINodeClient: the official OpenAI client library streams a chat
// completion from the emulator and reads a plain one.
func TestOpenAINodeClient(t *testing.T) {
	node, dir := nodeOpenAI(t)
	e := testEmulator(t)
	e.opt.TimeScale = 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	srv := httptest.NewServer(e)
	defer srv.Close()
	script := filepath.Join(t.TempDir(), "client.js")
	if err := os.WriteFile(script, []byte(nodeClient), 0o644); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	cmd := exec.CommandContext(rctx, node, script)
	cmd.Env = append(os.Environ(), "BASE="+srv.URL, "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client: %v: %s", err, stderr)
	}
	var got struct {
		Text       string `json:"text"`
		Finish     string `json:"finish"`
		Plain      string `json:"plain"`
		Chunks     int    `json:"chunks"`
		Usage      usage  `json:"usage"`
		PlainUsage usage  `json:"plainUsage"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node client printed %q: %v", out, err)
	}
	// "hello there" is 11 bytes: 3 tokens. Up to 5 token chunks (tokens
	// due while the client is being served go out together) and the usage chunk.
	if got.Chunks < 2 || got.Chunks > 6 || got.Finish != "length" || len(got.Text) != 5*4 || got.Usage.Prompt != 3 || got.Usage.Completion != 5 || got.Usage.Total != 8 ||
		len(got.Plain) != 3*4 || got.PlainUsage.Completion != 3 {
		t.Fatalf("node client saw %+v; want 2 to 6 chunks, finish length, 5 tokens of text, usage 3+5=8, and a plain answer of 3 tokens", got)
	}
}
