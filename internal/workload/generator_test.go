package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestArrivalRatesAndBurstiness(t *testing.T) {
	const n = 200000
	for _, tc := range []struct {
		name   string
		make   func() (Arrivals, error)
		wantCV float64 // coefficient of variation of the gaps
	}{
		{"poisson", func() (Arrivals, error) { return Poisson(4) }, 1},
		{"constant", func() (Arrivals, error) { return Constant(4) }, 0},
		{"gamma bursty", func() (Arrivals, error) { return Gamma(4, 3) }, 3},
		{"gamma regular", func() (Arrivals, error) { return Gamma(4, 0.5) }, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var sum, sum2, prev float64
			for range n {
				v, _ := a.Next(rng)
				g := v - prev
				prev = v
				sum += g
				sum2 += g * g
			}
			mean := sum / n
			cv := math.Sqrt(sum2/n-mean*mean) / mean
			// Rate 4/s → mean gap 0.25 s; sampling error of the mean is
			// cv/sqrt(n) ≈ 0.7% at cv 3, so 3% is loose enough.
			if math.Abs(mean-0.25)/0.25 > 0.03 || math.Abs(cv-tc.wantCV) > 0.05*math.Max(tc.wantCV, 1) {
				t.Fatalf("mean gap %.4f cv %.3f, want 0.25 and %.2f", mean, cv, tc.wantCV)
			}
		})
	}
}

func TestLengthDistributions(t *testing.T) {
	const n = 100000
	mk := func(l Lengths, err error) Lengths {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, tc := range []struct {
		name     string
		l        Lengths
		wantMean float64
		tol      float64
	}{
		{"fixed", mk(Fixed(128)), 128, 0},
		{"uniform", mk(Uniform(10, 20)), 15, 0.1},
		{"normal", mk(Normal(1000, 100)), 1000, 2},
		// Truncating N(2, 10) at ≥1 (after rounding) shifts the mean well up.
		{"normal truncated", mk(Normal(2, 10)), 0, -1},
		{"lognormal", mk(LogNormal(1000, 800)), 1000, 15},
		// Empirical {1, 2, 3, 10}: mean 4.
		{"empirical", mk(Empirical([]int{10, 2, 3, 1})), 4, 0.05},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			var sum float64
			for range n {
				v := tc.l.Sample(rng)
				if v < 1 {
					t.Fatalf("sample %d < 1", v)
				}
				sum += float64(v)
			}
			if tc.tol >= 0 && math.Abs(sum/n-tc.wantMean) > tc.tol {
				t.Fatalf("mean %.3f, want %.3f ± %.3f", sum/n, tc.wantMean, tc.tol)
			}
		})
	}
}

func TestConstructorsReject(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(Poisson(0)), "workload: rate: want a positive finite requests per second (got 0)"},
		{second(Gamma(1, -1)), "workload: cv: want a positive finite coefficient of variation (got -1)"},
		{second(Uniform(5, 2)), "workload: uniform length: want 1 ≤ lo ≤ hi (got lo 5, hi 2)"},
		{second(Fixed(0)), "workload: fixed length: want at least 1 token (got 0)"},
		{second(Empirical([]int{3, 0})), "workload: empirical length: sample 1: want at least 1 token (got 0)"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestGeneratorDeterministicAndLazy(t *testing.T) {
	gen := func() *Generator {
		a, _ := Poisson(10)
		in, _ := LogNormal(1000, 500)
		out, _ := Uniform(1, 300)
		g, err := NewGenerator(GeneratorConfig{Arrivals: a, Input: in, Output: out, Count: 1000,
			PrefixGroups: 4, PrefixTokens: 256}, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := readAll(t, gen()), readAll(t, gen())
	if len(a) != 1000 {
		t.Fatalf("%d requests, want 1000", len(a))
	}
	for i := range a {
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			t.Fatalf("request %d differs between equal seeds: %v vs %v", i, a[i], b[i])
		}
	}
	// Every prompt of ≥256 tokens starts with one of 4 group prefixes of
	// 256/16 = 16 blocks.
	groups := map[uint64]bool{}
	for _, r := range a {
		if r.Input >= 256 {
			groups[r.Hashes[15]] = true
		}
	}
	if len(groups) != 4 {
		t.Fatalf("%d distinct 16-block prefixes, want 4", len(groups))
	}
	g := gen()
	var r Request
	g.Next(&r)
	allocs := testing.AllocsPerRun(100, func() { g.Next(&r) })
	if allocs != 0 {
		t.Fatalf("Next allocates %v times per request, want 0", allocs)
	}
}

func ExampleGenerator() {
	rng := rand.New(rand.NewPCG(1, 1))
	arrivals, _ := Poisson(2) // 2 requests per second on average
	in, _ := Fixed(512)
	out, _ := Uniform(100, 200)
	g, _ := NewGenerator(GeneratorConfig{Arrivals: arrivals, Input: in, Output: out, Count: 3}, rng)
	var r Request
	for g.Next(&r) {
		fmt.Printf("id %d: %d in, %d out\n", r.ID, r.Input, r.Output)
	}
	// Output:
	// id 1: 512 in, 110 out
	// id 2: 512 in, 192 out
	// id 3: 512 in, 194 out
}
