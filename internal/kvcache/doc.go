// Package kvcache models a paged KV-cache allocator with a prefix cache, in
// the manner of vLLM V1's block pool.
//
// The cache is a fixed number of blocks, each holding BlockTokens tokens of
// keys and values. A sequence holds whole blocks, growing one block at a time
// as its tokens are computed, and gives them all back when it finishes or is
// preempted.
//
// Prefix caching: a block whose tokens are all computed and whose content is
// named by a hash (a chained hash, so equal hashes mean equal prefixes, not
// merely equal blocks) is registered in an index. A later sequence whose
// leading block hashes are in the index shares those blocks instead of
// recomputing them. Blocks are reference counted; a block no sequence
// references stays in the index, and the allocator keeps it until it needs
// the space, using empty blocks first and then evicting the least recently
// freed cached block. As in vLLM, a freed sequence's blocks are queued tail
// first, so that the end of a prompt is evicted before its more widely
// shared beginning.
//
// Memory follows the blocks in use, not the capacity: a block gets its
// metadata the first time it is handed out, so a cache of millions of blocks
// that never holds more than a thousand costs a thousand blocks' metadata.
// Once the peak is reached the allocator does no memory allocation: block
// metadata lives in one slice, freed empty blocks on a stack, cached free
// blocks in an intrusive doubly linked LRU list over block indices, and a
// Seq's block list is reused after Free.
package kvcache
