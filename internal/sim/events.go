package sim

import "container/heap"

type eventKind uint8

const (
	evArrival  eventKind = iota // req arrives at the cluster
	evStepDone                  // eng finishes its step
	evTransfer                  // req's KV cache reaches its decode replica
)

// event is a value, not a pointer, so the heap is one slice and pushing
// allocates nothing once it has grown.
type event struct {
	t    float64
	seq  uint64 // tie-break: scheduling order, for determinism
	kind eventKind
	eng  *engine
	req  *request
}

// eventHeap is a min-heap on (t, seq). It uses container/heap's sift
// functions through Fix rather than heap.Push and heap.Pop, whose any
// arguments would box every event.
type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

// Push and Pop satisfy heap.Interface; the simulator uses push and pop.
func (h *eventHeap) Push(x any) { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *eventHeap) push(ev event) {
	*h = append(*h, ev)
	heap.Fix(h, len(*h)-1)
}

func (h *eventHeap) pop() event {
	old := *h
	ev := old[0]
	n := len(old) - 1
	old[0] = old[n]
	old[n] = event{} // drop pointers so finished requests are not kept alive
	*h = old[:n]
	if n > 0 {
		heap.Fix(h, 0)
	}
	return ev
}
