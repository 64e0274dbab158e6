package kvcache

import "fmt"

// DefaultBlockTokens is vLLM's default KV block size on GPUs.
const DefaultBlockTokens = 16

// none marks an absent link in the free queue.
const none = -1

// Cache is a paged KV block allocator with a prefix cache. It is not safe for
// concurrent use; a simulated replica owns one.
type Cache struct {
	blockTokens int
	capacity    int     // blocks the cache may hold
	meta        []block // blocks ever handed out; grows on demand up to capacity
	// Blocks no sequence references are in one of three places. Those
	// never handed out have no metadata yet: memory follows the blocks in
	// use, not the capacity, so a 288 GB device's million blocks cost
	// nothing until requests fill them. Those handed out before and
	// holding no cached content are on a stack: any will do, and reusing
	// the most recently freed keeps the metadata warm in the CPU cache.
	// Those with cached content are in an LRU queue, least recently freed
	// at the head. Allocation drains the stack, then fresh blocks, before
	// evicting from the queue.
	stack      []int32
	head, tail int32 // LRU queue of cached, unreferenced blocks
	queued     int
	index      map[uint64]int32 // prefix hash → block holding that prefix's last block
}

type block struct {
	ref        int32
	prev, next int32 // LRU queue links while ref == 0 and hashed
	hash       uint64
	hashed     bool // hash is valid and index[hash] == this block
}

// Seq is one sequence's hold on the cache. The zero value is an empty
// sequence; after Free it is empty again and reuses its block list, so a
// caller that pools Seqs allocates nothing in the steady state.
type Seq struct {
	blocks    []int32
	hashes    []uint64 // prefix hashes of the prompt's full blocks; nil disables caching
	committed int      // leading blocks already registered in (or taken from) the index
}

// Blocks returns how many blocks s holds.
func (s *Seq) Blocks() int { return len(s.blocks) }

// New returns a cache of blocks blocks holding blockTokens tokens each.
func New(blocks, blockTokens int) (*Cache, error) {
	if blocks < 1 {
		return nil, fmt.Errorf("kvcache: blocks: want at least 1 (got %d)", blocks)
	}
	if blockTokens < 1 {
		return nil, fmt.Errorf("kvcache: block tokens: want at least 1 (got %d)", blockTokens)
	}
	if blocks > 1<<31-1 {
		return nil, fmt.Errorf("kvcache: blocks: want at most %d (got %d)", 1<<31-1, blocks)
	}
	return &Cache{
		blockTokens: blockTokens,
		capacity:    blocks,
		head:        none,
		tail:        none,
		index:       map[uint64]int32{},
	}, nil
}

// BlockTokens returns the tokens one block holds.
func (c *Cache) BlockTokens() int { return c.blockTokens }

// Capacity returns the number of blocks.
func (c *Cache) Capacity() int { return c.capacity }

// Used returns the blocks referenced by at least one sequence.
func (c *Cache) Used() int { return c.capacity - c.Available() }

// Available returns the blocks no sequence references, including cached
// ones that would be evicted to satisfy an allocation.
func (c *Cache) Available() int { return len(c.stack) + c.queued + c.fresh() }

// fresh returns the blocks never handed out.
func (c *Cache) fresh() int { return c.capacity - len(c.meta) }

// Touched returns the blocks that have metadata: the most ever in use or
// cached at once. Memory grows with it, never with Capacity.
func (c *Cache) Touched() int { return len(c.meta) }

// Cached returns the blocks registered in the prefix index, referenced or not.
func (c *Cache) Cached() int { return len(c.index) }

// BlocksFor returns the blocks needed to hold tokens tokens.
func (c *Cache) BlocksFor(tokens int) int {
	if tokens <= 0 {
		return 0
	}
	return (tokens + c.blockTokens - 1) / c.blockTokens
}

// Lookup returns how many leading hashes name blocks in the prefix index. It
// changes nothing, so a scheduler can ask before deciding.
func (c *Cache) Lookup(hashes []uint64) (hitBlocks int) {
	for _, h := range hashes {
		if _, ok := c.index[h]; !ok {
			break
		}
		hitBlocks++
	}
	return hitBlocks
}

// Start gives an empty sequence room for tokens tokens. hashes are the prefix
// hashes of the prompt's full blocks (nil when prefix caching is off); up to
// maxHitBlocks leading blocks found in the index are shared instead of
// allocated, and their number is returned. A scheduler passes a maxHitBlocks
// that leaves at least one token to compute, because the last prompt token's
// logits are needed to sample. If the cache cannot supply the blocks, Start
// changes nothing and returns ok false.
func (c *Cache) Start(s *Seq, hashes []uint64, maxHitBlocks, tokens int) (hitBlocks int, ok bool) {
	if len(s.blocks) != 0 {
		panic("kvcache: Start on a sequence that holds blocks")
	}
	hits := c.Lookup(hashes)
	if hits > maxHitBlocks {
		hits = maxHitBlocks
	}
	need := c.BlocksFor(tokens)
	if hits > need {
		hits = need
	}
	// Hit blocks with no references sit in the LRU queue; taking them
	// shrinks what is left for fresh blocks.
	idle := 0
	for _, h := range hashes[:hits] {
		if c.meta[c.index[h]].ref == 0 {
			idle++
		}
	}
	if need-hits > c.Available()-idle {
		return 0, false
	}
	for _, h := range hashes[:hits] {
		b := c.index[h]
		if c.meta[b].ref == 0 {
			c.unlink(b)
		}
		c.meta[b].ref++
		s.blocks = append(s.blocks, b)
	}
	for range need - hits {
		s.blocks = append(s.blocks, c.take())
	}
	s.hashes = hashes
	s.committed = hits
	return hits, true
}

// Allocate grows s to hold tokens tokens, taking blocks that hold no cached
// content first and then evicting the least recently freed cached blocks.
// (vLLM keeps one queue and can evict a cached block while an empty one
// waits behind it; preferring empty blocks keeps strictly more cache.) If
// the cache cannot supply them, Allocate changes nothing and returns false.
func (c *Cache) Allocate(s *Seq, tokens int) bool {
	need := c.BlocksFor(tokens) - len(s.blocks)
	if need <= 0 {
		return true
	}
	if need > c.Available() {
		return false
	}
	for range need {
		s.blocks = append(s.blocks, c.take())
	}
	return true
}

// Commit records that s's first tokens tokens are computed, registering
// every full block that has a prefix hash and is not yet in the index. When
// another sequence registered the same prefix first, the existing entry wins
// and this copy stays private, as in vLLM.
func (c *Cache) Commit(s *Seq, tokens int) {
	full := tokens / c.blockTokens
	if full > len(s.hashes) {
		full = len(s.hashes)
	}
	if full > len(s.blocks) {
		full = len(s.blocks)
	}
	for i := s.committed; i < full; i++ {
		h := s.hashes[i]
		if _, dup := c.index[h]; dup {
			continue
		}
		b := s.blocks[i]
		m := &c.meta[b]
		m.hash, m.hashed = h, true
		c.index[h] = b
	}
	if full > s.committed {
		s.committed = full
	}
}

// Free releases every block s holds. Cached blocks whose references drop
// to zero join the tail of the LRU queue, the sequence's last block first,
// and keep their content until evicted; the others go on the stack.
func (c *Cache) Free(s *Seq) {
	for i := len(s.blocks) - 1; i >= 0; i-- {
		b := s.blocks[i]
		m := &c.meta[b]
		m.ref--
		if m.ref == 0 {
			if m.hashed {
				c.pushTail(b)
			} else {
				c.stack = append(c.stack, b)
			}
		}
	}
	s.blocks = s.blocks[:0]
	s.hashes = nil
	s.committed = 0
}

// take returns a free block with one reference: an empty one if any (a
// freed one, else one never handed out), else the least recently freed
// cached one, whose content it evicts. The caller checked Available.
func (c *Cache) take() int32 {
	if n := len(c.stack); n > 0 {
		b := c.stack[n-1]
		c.stack = c.stack[:n-1]
		c.meta[b].ref = 1
		return b
	}
	if len(c.meta) < c.capacity {
		c.meta = append(c.meta, block{ref: 1, prev: none, next: none})
		return int32(len(c.meta) - 1)
	}
	b := c.head
	c.unlink(b)
	m := &c.meta[b]
	delete(c.index, m.hash)
	m.hashed = false
	m.ref = 1
	return b
}

func (c *Cache) pushTail(b int32) {
	m := &c.meta[b]
	m.prev, m.next = c.tail, none
	if c.tail != none {
		c.meta[c.tail].next = b
	} else {
		c.head = b
	}
	c.tail = b
	c.queued++
}

func (c *Cache) unlink(b int32) {
	m := &c.meta[b]
	if m.prev != none {
		c.meta[m.prev].next = m.next
	} else {
		c.head = m.next
	}
	if m.next != none {
		c.meta[m.next].prev = m.prev
	} else {
		c.tail = m.prev
	}
	m.prev, m.next = none, none
	c.queued--
}
