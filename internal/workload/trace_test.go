package workload

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedTraces is the full trace directory, relative to this package.
const sharedTraces = "../../../shared/data/traces"

func readAll(t testing.TB, src Source) []Request {
	t.Helper()
	var out []Request
	var r Request
	for src.Next(&r) {
		q := r
		q.Hashes = append([]uint64(nil), r.Hashes...)
		out = append(out, q)
	}
	return out
}

func TestAzureExcerpt(t *testing.T) {
	f, err := os.Open("testdata/azure_conv_head50.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := NewAzure(f, TraceOptions{Name: "azure_conv_head50.csv"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := readAll(t, a)
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 50 {
		t.Fatalf("read %d requests, want 50", len(reqs))
	}
	// Row 1: 18:15:46.6805900, 374, 44 → t = 0.
	// Row 2: 18:15:50.9951690, 396, 109 → t = 50.9951690 − 46.6805900 = 4.3145790 s.
	// Row 3: 18:15:51.2224670, 879, 55 → t = 51.2224670 − 46.6805900 = 4.5418770 s.
	want := []Request{
		{ID: 1, ArrivalS: 0, Input: 374, Output: 44},
		{ID: 2, ArrivalS: 4.3145790, Input: 396, Output: 109},
		{ID: 3, ArrivalS: 4.5418770, Input: 879, Output: 55},
	}
	for i, w := range want {
		g := reqs[i]
		if g.ID != w.ID || math.Abs(g.ArrivalS-w.ArrivalS) > 1e-9 || g.Input != w.Input || g.Output != w.Output || len(g.Hashes) != 0 {
			t.Errorf("request %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestTraceOptions(t *testing.T) {
	const csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2024-05-10 00:00:00.000000+00:00,10,1\n" +
		"2024-05-10 00:00:01.000000+00:00,20,2\n" +
		"2024-05-10 00:00:03+00:00,30,3\n"
	for _, tc := range []struct {
		name  string
		opt   TraceOptions
		wantT []float64
	}{
		{"as recorded", TraceOptions{}, []float64{0, 1, 3}},
		// Speed-up 2 halves every arrival time: 1 s → 0.5 s, 3 s → 1.5 s.
		{"time scale", TraceOptions{TimeScale: 2}, []float64{0, 0.5, 1.5}},
		{"limit", TraceOptions{Limit: 2}, []float64{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAzure(strings.NewReader(csv), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			reqs := readAll(t, a)
			if a.Err() != nil || len(reqs) != len(tc.wantT) {
				t.Fatalf("got %d requests, err %v; want %d", len(reqs), a.Err(), len(tc.wantT))
			}
			for i, w := range tc.wantT {
				if math.Abs(reqs[i].ArrivalS-w) > 1e-12 {
					t.Errorf("arrival %d = %v, want %v", i, reqs[i].ArrivalS, w)
				}
			}
		})
	}
}

func TestTraceErrors(t *testing.T) {
	const hdr = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
	const ok = "2023-11-16 18:17:03.9799600,4808,10\n"
	for _, tc := range []struct {
		name, in, want string
		newer          func(string) (Source, error)
	}{
		{"azure bad tokens", hdr + ok + "2023-11-16 18:17:04.0,x,3\n",
			`trace.csv:3: ContextTokens: want a non-negative integer (got "x")`, azure},
		{"azure negative", hdr + "2023-11-16 18:17:04.0,5,-3\n",
			`trace.csv:2: GeneratedTokens: want a non-negative integer (got "-3")`, azure},
		{"azure bad time", hdr + "yesterday,5,3\n",
			`trace.csv:2: TIMESTAMP: want a time like 2023-11-16 18:17:03.9799600 (got "yesterday")`, azure},
		{"azure backwards", hdr + ok + "2023-11-16 18:17:03.0,5,3\n",
			`trace.csv:3: timestamp: want a time not before the previous row's (got -0.97996 s after 0 s)`, azure},
		{"azure short row", hdr + "2023-11-16 18:17:03.0,5\n",
			`trace.csv:2: want at least 3 fields (got 2)`, azure},
		{"azure header", "time,in,out\n", `trace.csv:1: header: want a "TIMESTAMP" column (got "time,in,out")`, azure},
		{"azure empty", "", `trace.csv:1: header: want TIMESTAMP,ContextTokens,GeneratedTokens (got an empty file)`, azure},
		{"burstgpt bad time", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n-1,ChatGPT,3,4,7,Conversation log\n",
			`trace.csv:2: Timestamp: want non-negative seconds (got "-1")`, burst},
		{"mooncake missing", `{"timestamp": 0, "input_length": 5}`,
			`trace.csv:1: output_length: want a non-negative integer (got none)`, moon},
		{"mooncake not json", "\n{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\nnope\n",
			`trace.csv:3: want a JSON object with timestamp, input_length, output_length: invalid character 'o' in literal null (expecting 'u')`, moon},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tc.newer(tc.in)
			if err == nil {
				readAll(t, src)
				err = src.Err()
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
}

func azure(s string) (Source, error) {
	return NewAzure(strings.NewReader(s), TraceOptions{Name: "trace.csv"})
}
func burst(s string) (Source, error) {
	return NewBurstGPT(strings.NewReader(s), TraceOptions{Name: "trace.csv"})
}
func moon(s string) (Source, error) {
	return NewMooncake(strings.NewReader(s), TraceOptions{Name: "trace.csv"})
}

func TestBurstGPTSkipsFailed(t *testing.T) {
	// Hand-written rows in BurstGPT's schema; the third has 0 response
	// tokens, a failed request.
	const in = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n" +
		"5,ChatGPT,472,18,490,Conversation log\n" +
		"45,ChatGPT,1087,251,1338,Conversation log\n" +
		"118,GPT-4,417,0,417,Conversation log\n" +
		"134,ChatGPT,1360,328,1688,API log\n"
	b, err := NewBurstGPT(strings.NewReader(in), TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := readAll(t, b)
	if b.Err() != nil || len(reqs) != 3 || b.Skipped() != 1 {
		t.Fatalf("got %d requests, %d skipped, err %v; want 3, 1, nil", len(reqs), b.Skipped(), b.Err())
	}
	// BurstGPT timestamps are already seconds from the start: kept as is.
	if reqs[2].ArrivalS != 134 || reqs[2].Input != 1360 || reqs[2].Output != 328 || reqs[2].ID != 3 {
		t.Fatalf("third request = %+v", reqs[2])
	}
	b, _ = NewBurstGPT(strings.NewReader(in), TraceOptions{})
	b.KeepFailed = true
	if n := len(readAll(t, b)); n != 4 {
		t.Fatalf("KeepFailed read %d requests, want 4", n)
	}
}

func TestMooncakeExcerptAndHashes(t *testing.T) {
	f, err := os.Open("testdata/mooncake_conversation_head50.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := NewMooncake(f, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := readAll(t, m)
	if m.Err() != nil || len(reqs) != 50 {
		t.Fatalf("read %d, err %v", len(reqs), m.Err())
	}
	// Line 1: input 6758, ids [0..13]. With 16-token blocks the full blocks
	// are floor(6758/16) = 422, all covered by the 14 ids (14×512 = 7168).
	if got := len(reqs[0].Hashes); got != 422 {
		t.Fatalf("first request has %d hashes, want 422", got)
	}
	// Lines 1 and 2 share only id 0, so the first 512/16 = 32 blocks.
	shared := 0
	for shared < len(reqs[1].Hashes) && reqs[0].Hashes[shared] == reqs[1].Hashes[shared] {
		shared++
	}
	if shared != 32 {
		t.Fatalf("requests 1 and 2 share %d blocks, want 32", shared)
	}
}

func TestMooncakeHashMapping(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ids         []uint64
		input, B    int
		wantBlocks  int
		sharedWithA int // leading hashes equal to those of ids {1, 2}, same input and B
	}{
		// 1100 tokens at B=16: 68 full blocks (1088 tokens), within 3 ids.
		{"same ids", []uint64{1, 2, 3}, 1100, 16, 68, 68},
		// Differs in the second id: blocks 0..31 (tokens < 512) shared.
		{"second id differs", []uint64{1, 9, 3}, 1100, 16, 68, 32},
		// B = 1000: one full block; its last token 999 lies in id 1 (k=1).
		{"block over 512", []uint64{1, 2, 3}, 1100, 1000, 1, 1},
		// Only one id for 1100 tokens: blocks whose last token is < 512.
		{"truncated ids", []uint64{1}, 1100, 16, 32, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mooncakeHashes(nil, tc.ids, tc.input, tc.B)
			ref := mooncakeHashes(nil, []uint64{1, 2, 3}, tc.input, tc.B)
			if len(got) != tc.wantBlocks {
				t.Fatalf("%d hashes, want %d", len(got), tc.wantBlocks)
			}
			n := 0
			for n < len(got) && got[n] == ref[n] {
				n++
			}
			if n != tc.sharedWithA {
				t.Fatalf("shares %d leading hashes, want %d", n, tc.sharedWithA)
			}
		})
	}
}

// TestFullTraces reads the complete public traces when the shared data
// directory is present, checking row counts from its README and mean
// lengths computed independently.
func TestFullTraces(t *testing.T) {
	for _, tc := range []struct {
		file string
		open func(*os.File) (Source, error)
		rows int
	}{
		{"AzureLLMInferenceTrace_code.csv", func(f *os.File) (Source, error) { return NewAzure(f, TraceOptions{Name: f.Name()}) }, 8819},
		{"AzureLLMInferenceTrace_conv.csv", func(f *os.File) (Source, error) { return NewAzure(f, TraceOptions{Name: f.Name()}) }, 19366},
		{"mooncake_conversation_trace.jsonl", func(f *os.File) (Source, error) { return NewMooncake(f, TraceOptions{Name: f.Name()}) }, 12031},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(sharedTraces, tc.file))
			if err != nil {
				t.Skipf("full trace not present: %v", err)
			}
			defer f.Close()
			src, err := tc.open(f)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			var r Request
			var last float64
			for src.Next(&r) {
				n++
				last = r.ArrivalS
			}
			if src.Err() != nil || n != tc.rows {
				t.Fatalf("read %d rows, err %v; want %d", n, src.Err(), tc.rows)
			}
			// The Azure traces span one hour; Mooncake's about one hour too.
			if last < 1800 || last > 4000 {
				t.Errorf("last arrival %v s, want about an hour", last)
			}
		})
	}
}

func fuzzSource(f *testing.F, open func(string) (Source, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		src, err := open(in)
		if err != nil {
			return
		}
		var r Request
		prev := math.Inf(-1)
		for i := 0; src.Next(&r); i++ {
			if r.ArrivalS < prev || r.Input < 0 || r.Output < 0 || math.IsNaN(r.ArrivalS) {
				t.Fatalf("request %d = %+v after arrival %v", i, r, prev)
			}
			prev = r.ArrivalS
		}
	})
}

// headLines returns the first n lines of a test file: small seeds keep the
// fuzzer's mutations small and its executions fast.
func headLines(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(b), "\n")
	return strings.Join(lines[:min(n, len(lines))], "")
}

func FuzzAzure(f *testing.F) {
	fuzzSource(f, azure, headLines("testdata/azure_code_head50.csv", 5), "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9,1,2\n")
}

func FuzzBurstGPT(f *testing.F) {
	fuzzSource(f, burst, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n")
}

func FuzzMooncake(f *testing.F) {
	fuzzSource(f, moon, headLines("testdata/mooncake_conversation_head50.jsonl", 3), `{"timestamp": 1.5, "input_length": 600, "output_length": 1, "hash_ids": [7, 8]}`)
}
