package kvcache

// ChainHash returns the hash of a block whose own content is named by content
// and whose prefix hashed to parent (0 for the first block). Chaining makes a
// block hash identify the whole prefix ending at that block, which is the key
// prefix caching needs: two prompts that share block 3's tokens but not block
// 2's must not share block 3's KV.
//
// The mix is SplitMix64's finaliser over a combination of both inputs: fast,
// deterministic across platforms, and well spread for sequential content ids
// such as trace hash ids.
func ChainHash(parent, content uint64) uint64 {
	x := parent*0x9e3779b97f4a7c15 ^ (content + 0x632be59bd9b4e019)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
