package kvcache

import (
	"fmt"
	"testing"
)

func mustNew(t testing.TB, blocks, blockTokens int) *Cache {
	t.Helper()
	c, err := New(blocks, blockTokens)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		blocks, blockTokens int
		want                string
	}{
		{0, 16, "kvcache: blocks: want at least 1 (got 0)"},
		{4, 0, "kvcache: block tokens: want at least 1 (got 0)"},
	} {
		_, err := New(tc.blocks, tc.blockTokens)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%d, %d) = %v, want %q", tc.blocks, tc.blockTokens, err, tc.want)
		}
	}
}

func TestAllocateGrowsByBlocks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tokens     []int // successive Allocate targets
		wantBlocks int
		wantOK     bool
	}{
		// 1 token needs ceil(1/16) = 1 block; 16 still 1; 17 needs 2.
		{"one block", []int{1, 16}, 1, true},
		{"second block", []int{16, 17}, 2, true},
		// 8 blocks × 16 = 128 tokens fit exactly; 129 needs a 9th.
		{"exactly full", []int{128}, 8, true},
		{"over capacity", []int{100, 129}, 7, false},
		{"shrinking target is a no-op", []int{40, 10}, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, 8, 16)
			var s Seq
			ok := true
			for _, n := range tc.tokens {
				ok = c.Allocate(&s, n)
			}
			if ok != tc.wantOK || s.Blocks() != tc.wantBlocks {
				t.Fatalf("got blocks %d ok %v, want %d %v", s.Blocks(), ok, tc.wantBlocks, tc.wantOK)
			}
			if c.Used() != tc.wantBlocks || c.Available() != 8-tc.wantBlocks {
				t.Fatalf("used %d available %d, want %d %d", c.Used(), c.Available(), tc.wantBlocks, 8-tc.wantBlocks)
			}
			c.Free(&s)
			if c.Used() != 0 || s.Blocks() != 0 {
				t.Fatalf("after Free: used %d, seq blocks %d", c.Used(), s.Blocks())
			}
		})
	}
}

func TestPrefixHitsAndSharing(t *testing.T) {
	c := mustNew(t, 10, 4)
	hashes := []uint64{11, 12, 13}
	var a Seq
	// A 14-token prompt: 4 blocks of 4, three full ones hashed.
	if hit, ok := c.Start(&a, hashes, 3, 14); hit != 0 || !ok {
		t.Fatalf("cold Start: hit %d ok %v", hit, ok)
	}
	if got := c.Lookup(hashes); got != 0 {
		t.Fatalf("Lookup before Commit = %d, want 0 (uncomputed blocks must not hit)", got)
	}
	c.Commit(&a, 9) // 9 tokens computed: blocks 0 and 1 are full.
	if got := c.Lookup(hashes); got != 2 {
		t.Fatalf("Lookup after 9 tokens = %d, want 2", got)
	}
	c.Commit(&a, 14)
	if got := c.Lookup(hashes); got != 3 {
		t.Fatalf("Lookup after 14 tokens = %d, want 3", got)
	}
	// A second sequence with the same prompt shares 3 blocks while a holds
	// them: used goes 4 → 4 + 1 fresh block (14 tokens need 4 blocks).
	var b Seq
	if hit, ok := c.Start(&b, hashes, 3, 14); hit != 3 || !ok {
		t.Fatalf("warm Start: hit %d ok %v, want 3 true", hit, ok)
	}
	if c.Used() != 5 {
		t.Fatalf("used %d, want 5", c.Used())
	}
	// maxHitBlocks caps the hit (the scheduler keeps one token to compute).
	var d Seq
	if hit, _ := c.Start(&d, hashes, 2, 12); hit != 2 {
		t.Fatalf("capped Start: hit %d, want 2", hit)
	}
	c.Free(&d)
	c.Free(&a)
	c.Free(&b)
	if c.Used() != 0 || c.Cached() != 3 {
		t.Fatalf("after frees: used %d cached %d, want 0 3", c.Used(), c.Cached())
	}
	// Cached blocks survive until the space is needed: an unrelated 7-block
	// sequence takes the 7 uncached free blocks first (they were freed
	// earlier or never used), so all 3 cached blocks stay.
	var e Seq
	if !c.Allocate(&e, 28) {
		t.Fatal("Allocate 28 tokens failed")
	}
	if got := c.Lookup(hashes); got != 3 {
		t.Fatalf("Lookup after unrelated allocation = %d, want 3", got)
	}
	// One more block evicts from the LRU head.
	if !c.Allocate(&e, 32) {
		t.Fatal("Allocate 32 tokens failed")
	}
	if c.Cached() != 2 {
		t.Fatalf("cached %d, want 2 after one eviction", c.Cached())
	}
}

func TestFreeOrderEvictsTailFirst(t *testing.T) {
	c := mustNew(t, 3, 1)
	var a Seq
	c.Start(&a, []uint64{1, 2, 3}, 3, 3)
	c.Commit(&a, 3)
	c.Free(&a)
	// Free queued block 2 (hash 3) first, then 1, then 0, so the next
	// allocation evicts the prompt's end and the shared start survives.
	var b Seq
	c.Allocate(&b, 1)
	if got := c.Lookup([]uint64{1, 2, 3}); got != 2 {
		t.Fatalf("Lookup = %d, want 2 (hash 3 evicted first)", got)
	}
}

func TestStartFailsWithoutSideEffects(t *testing.T) {
	c := mustNew(t, 4, 4)
	var a Seq
	c.Start(&a, []uint64{1, 2}, 2, 8)
	c.Commit(&a, 8)
	c.Free(&a)
	// 2 cached idle blocks + 2 fresh: a 5-block request cannot fit even
	// reusing both hits (2 hits + 3 fresh > 4).
	var b Seq
	if _, ok := c.Start(&b, []uint64{1, 2}, 2, 20); ok {
		t.Fatal("Start succeeded beyond capacity")
	}
	if c.Available() != 4 || c.Cached() != 2 || b.Blocks() != 0 {
		t.Fatalf("failed Start changed state: available %d cached %d blocks %d", c.Available(), c.Cached(), b.Blocks())
	}
	// 4 blocks: 2 hits (taken off the free queue) + 2 fresh = exactly 4.
	if hit, ok := c.Start(&b, []uint64{1, 2}, 2, 16); hit != 2 || !ok {
		t.Fatalf("Start: hit %d ok %v, want 2 true", hit, ok)
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	c := mustNew(t, 64, 16)
	var s Seq
	hashes := []uint64{ChainHash(0, 1), ChainHash(ChainHash(0, 1), 2)}
	allocs := testing.AllocsPerRun(100, func() {
		c.Start(&s, hashes, 1, 40)
		c.Allocate(&s, 300)
		c.Commit(&s, 300)
		c.Free(&s)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per cycle, want 0", allocs)
	}
}

func TestChainHashDependsOnPrefix(t *testing.T) {
	if ChainHash(0, 7) == ChainHash(1, 7) {
		t.Fatal("same content under different prefixes hashed equal")
	}
	// Pinned values: trace hash ids and records files must hash the same on
	// every platform and release, so a change to the mix must be deliberate.
	for _, tc := range []struct{ parent, content, want uint64 }{
		{3, 7, 0x46f1c1190de71837},
		{0, 1, 0x6f8aaeac2856bddb},
	} {
		if got := ChainHash(tc.parent, tc.content); got != tc.want {
			t.Errorf("ChainHash(%d, %d) = %#x, want %#x", tc.parent, tc.content, got, tc.want)
		}
	}
}

// A cache's memory follows the blocks in use, not its capacity: a billion
// blocks holding ten 100-token sequences touch 10 × ⌈100/16⌉ = 70 blocks.
func TestMemoryFollowsUse(t *testing.T) {
	const capacity = 1 << 30
	c := mustNew(t, capacity, 16)
	seqs := make([]Seq, 10)
	for i := range seqs {
		if _, ok := c.Start(&seqs[i], nil, 0, 100); !ok {
			t.Fatalf("sequence %d: no room in a %d-block cache", i, capacity)
		}
	}
	if c.Touched() != 70 || c.Used() != 70 || c.Available() != capacity-70 {
		t.Fatalf("touched %d used %d available %d, want 70, 70, %d", c.Touched(), c.Used(), c.Available(), capacity-70)
	}
	// Freed blocks are reused before fresh ones: the peak stays at 70.
	for i := range seqs {
		c.Free(&seqs[i])
	}
	for i := range seqs {
		c.Start(&seqs[i], nil, 0, 100)
	}
	if c.Touched() != 70 {
		t.Fatalf("touched %d after reuse, want 70", c.Touched())
	}
}

func BenchmarkCycle(b *testing.B) {
	c := mustNew(b, 4096, 16)
	var s Seq
	hashes := make([]uint64, 64)
	for i := range hashes {
		hashes[i] = ChainHash(uint64(i), uint64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Start(&s, hashes, 63, 1024)
		c.Allocate(&s, 1300)
		c.Commit(&s, 1300)
		c.Free(&s)
	}
}

func Example() {
	c, _ := New(100, 16) // 1600 tokens of KV
	system := []uint64{ChainHash(0, 42)}
	system = append(system, ChainHash(system[0], 43)) // a 32-token shared prompt

	var first Seq
	hit, _ := c.Start(&first, system, 2, 40) // 40-token prompt, cold cache
	c.Commit(&first, 40)                     // prefill done: blocks 0 and 1 now cached
	fmt.Println("first hit blocks:", hit, "used:", c.Used())
	c.Free(&first)

	var second Seq
	// Same 32-token prefix; keep at least one token to compute.
	hit, _ = c.Start(&second, system, (40-1)/16, 40)
	fmt.Println("second hit blocks:", hit, "tokens saved:", hit*c.BlockTokens())
	// Output:
	// first hit blocks: 0 used: 3
	// second hit blocks: 2 tokens saved: 32
}
