package train

import (
	"sync"
	"testing"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/perf"
)

var (
	catOnce sync.Once
	testCat *hardware.Catalog
	params  *perf.Params
)

// catalog is the default hardware catalog, read once for the package's
// tests (it is parsed from YAML on every hardware.Default call).
func catalog() *hardware.Catalog {
	catOnce.Do(func() { testCat, params = hardware.Default(), perf.DefaultParams() })
	return testCat
}

// job builds a job on the default catalogs.
func job(t testing.TB, modelID, chip string, chips, seq, batch int, p hardware.Precision) Job {
	t.Helper()
	cat := catalog()
	c, err := cat.Chip(chip)
	if err != nil {
		t.Fatal(err)
	}
	n, err := cat.NodeOf(c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Default().Model(modelID)
	if err != nil {
		t.Fatal(err)
	}
	return Job{Model: m, Chip: c, Node: n, Chips: chips, Precision: p, SeqLen: seq, GlobalBatch: batch, FlashAttention: true}
}

// gpt3 is GPT-3 175B as Korthikanti et al. shape it: h 12288, a 96, 96
// layers, 4h GeLU FFN, vocabulary 51200, dropout, no FlashAttention.
func gpt3(t testing.TB) *model.Model {
	t.Helper()
	m, err := model.Parse([]byte(`{"architectures": ["GPT2LMHeadModel"], "n_embd": 12288, "n_layer": 96, "n_head": 96, "vocab_size": 51200}`), "gpt3-175b")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newEst(t testing.TB, j Job) *Estimator {
	t.Helper()
	catalog()
	e, err := New(j, params)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
