package workload

// Request is one inference request as a client sends it.
type Request struct {
	ID       int64
	ArrivalS float64 // seconds since the start of the stream
	Input    int     // prompt tokens
	Output   int     // tokens to generate
	// Hashes are chained prefix hashes of the prompt's full KV blocks, at
	// the block size the source was configured with: Hashes[i] names the
	// whole prefix of tokens [0, (i+1)×block), so equal values mean a shared
	// prefix (see kvcache.ChainHash). Nil when the source knows nothing
	// about prompt content.
	Hashes []uint64
}

// A Source yields requests in nondecreasing arrival order.
type Source interface {
	// Next overwrites *r with the next request and reports whether there
	// was one. It may reuse r.Hashes' backing array, so a caller that keeps
	// a request must keep its own copy of the slice.
	Next(r *Request) bool
	// Err returns the error that ended the stream, or nil at a clean end.
	Err() error
}

// Slice is a Source over requests held in memory, for tests and small
// scripted scenarios.
type Slice struct {
	reqs []Request
	i    int
}

// FromSlice returns a Source yielding reqs in order. It does not sort them.
func FromSlice(reqs []Request) *Slice { return &Slice{reqs: reqs} }

// Next implements Source.
func (s *Slice) Next(r *Request) bool {
	if s.i >= len(s.reqs) {
		return false
	}
	q := s.reqs[s.i]
	s.i++
	h := append(r.Hashes[:0], q.Hashes...)
	*r = q
	r.Hashes = h
	return true
}

// Err implements Source; a slice never fails.
func (s *Slice) Err() error { return nil }
