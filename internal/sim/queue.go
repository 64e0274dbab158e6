package sim

// queue is a FIFO of requests that also takes preempted requests back at
// the front. A ring buffer, so steady-state use allocates nothing.
type queue struct {
	buf        []*request
	head, size int
}

func (q *queue) len() int { return q.size }

func (q *queue) front() *request { return q.buf[q.head] }

func (q *queue) grow() {
	if q.size < len(q.buf) {
		return
	}
	nb := make([]*request, max(8, 2*len(q.buf)))
	for i := range q.size {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

func (q *queue) pushBack(r *request) {
	q.grow()
	q.buf[(q.head+q.size)%len(q.buf)] = r
	q.size++
}

func (q *queue) pushFront(r *request) {
	q.grow()
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = r
	q.size++
}

func (q *queue) popFront() *request {
	r := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return r
}
