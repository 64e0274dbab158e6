package train

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Space is the candidate values of each layout dimension; a dimension
// with one value is pinned. DP is not searched: it is what the devices
// leave (devices / (tp·pp·cp)).
type Space struct {
	TP, PP, EP, CP, VPP, ZeRO, MicroBatch []int
	Recompute                             []Recompute
	TPOverlap, EPOverlap                  []bool
}

// DefaultSpace is what a search tries when the user pins nothing: powers
// of two for every degree (TP up to twice the scale-up domain, so that a
// layout that crosses it is seen and scored), ZeRO 1 (Megatron's
// distributed optimizer) and 3 (FSDP), the three recompute
// policies (block is opt-in: docs/train.md shows what it changes),
// micro-batches of 1, 2 and 4, TP and EP overlap off: they are opt-in in
// the frameworks (Megatron-LM's --tp-comm-overlap and
// --overlap-moe-expert-parallel-comm, torchtitan's AsyncTP), so a
// layout only gets them when the user or the case says so.
func DefaultSpace(j *Job, domain int) Space {
	m := j.Model
	pow := func(lim int) []int {
		var v []int
		for x := 1; x <= lim; x *= 2 {
			v = append(v, x)
		}
		return v
	}
	var tp []int
	for _, x := range pow(min(2*domain, m.Heads)) {
		if m.Heads%x == 0 {
			tp = append(tp, x)
		}
	}
	ep := []int{1}
	if m.MoE() {
		ep = nil
		for _, x := range pow(m.Experts) {
			if m.Experts%x == 0 {
				ep = append(ep, x)
			}
		}
	}
	cp := []int{1}
	if j.SeqLen >= 16384 {
		cp = pow(8)
	}
	return Space{
		TP: tp, PP: pow(min(m.Layers, 64)), EP: ep, CP: cp, VPP: []int{1, 2, 4},
		ZeRO: []int{1, 3}, MicroBatch: []int{1, 2, 4},
		Recompute: []Recompute{RecomputeNone, RecomputeSelective, RecomputeFull},
		TPOverlap: []bool{false}, EPOverlap: []bool{false},
	}
}

// Size is the number of layouts the space holds.
func (s Space) Size() int {
	return len(s.TP) * len(s.PP) * len(s.EP) * len(s.CP) * len(s.VPP) * len(s.ZeRO) * len(s.MicroBatch) *
		len(s.Recompute) * len(s.TPOverlap) * len(s.EPOverlap)
}

// Rejection counts the layouts refused for one reason, with an example.
type Rejection struct {
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// Search is the outcome of a layout search: every layout tried, the ones
// that fit ranked by step time, and why the others were refused.
type Search struct {
	Tried      int         `json:"tried"`
	Feasible   int         `json:"feasible"`
	Best       *Result     `json:"best"`
	RunnerUp   *Result     `json:"runner_up,omitempty"`
	Rejections []Rejection `json:"rejections"`
}

// Search evaluates every layout of s (filter: layouts that do not divide
// or do not fit; score: the shortest step, then the fewest exposed
// communication seconds) and returns the best two with every rejection's
// reason. A degree that does not divide is reported by its field, an
// overflow by the term that overflows.
func (e *Estimator) Search(s Space) Search {
	var out Search
	rej := map[string]*Rejection{}
	var order []string
	reject := func(reason string, example func() string, n int) {
		r, ok := rej[reason]
		if !ok {
			r = &Rejection{Reason: reason, Example: example()}
			rej[reason] = r
			order = append(order, reason)
		}
		r.Count += n
	}
	var best, second Result
	nb := 0
	for _, tp := range s.TP {
		for _, pp := range s.PP {
			for _, cp := range s.CP {
				n := e.e.job.Devices()
				if n%(tp*pp*cp) != 0 {
					k := len(s.EP) * len(s.VPP) * len(s.ZeRO) * len(s.MicroBatch) * len(s.Recompute) * len(s.TPOverlap) * len(s.EPOverlap)
					out.Tried += k
					reject("tp·pp·cp does not divide the devices", func() string { return fmt.Sprintf("tp%d pp%d cp%d on %d devices", tp, pp, cp, n) }, k)
					continue
				}
				for _, ep := range s.EP {
					for _, vpp := range s.VPP {
						for _, z := range s.ZeRO {
							for _, mb := range s.MicroBatch {
								for _, rc := range s.Recompute {
									for _, to := range s.TPOverlap {
										for _, eo := range s.EPOverlap {
											out.Tried++
											l := Layout{TP: tp, PP: pp, CP: cp, EP: ep, VPP: vpp, ZeRO: z, MicroBatch: mb, Recompute: rc, TPOverlap: to, EPOverlap: eo}
											r, err := e.nominal(l)
											if err != nil {
												ex := l
												if r.Layout.DP > 0 {
													ex = r.Layout
												}
												reject(reasonOf(err), ex.String, 1)
												continue
											}
											out.Feasible++
											switch {
											case nb == 0 || better(&r, &best):
												second, best = best, r
												nb++
											case nb == 1 || better(&r, &second):
												second = r
												nb++
											default:
												nb++
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if nb > 0 {
		e.band(&best)
		out.Best = &best
	}
	if nb > 1 {
		e.band(&second)
		out.RunnerUp = &second
	}
	for _, k := range order {
		out.Rejections = append(out.Rejections, *rej[k])
	}
	sort.SliceStable(out.Rejections, func(a, b int) bool { return out.Rejections[a].Count > out.Rejections[b].Count })
	return out
}

// Why is the most telling reason nothing fits: the commonest memory
// overflow if there is one (a count that divides but does not fit says
// more than one that does not divide), else the commonest reason.
func (s *Search) Why() string {
	if len(s.Rejections) == 0 {
		return "no layout in the space"
	}
	r := s.Rejections[0]
	for _, x := range s.Rejections {
		if strings.HasPrefix(x.Reason, "memory:") {
			r = x
			break
		}
	}
	return fmt.Sprintf("%s (%d layouts, e.g. %s)", r.Reason, r.Count, r.Example)
}

// better ranks a before b: shorter step, then less memory.
func better(a, b *Result) bool {
	if a.Step.Total != b.Step.Total {
		return a.Step.Total < b.Step.Total
	}
	return a.Memory.Total < b.Memory.Total
}

// reasonOf turns an evaluation error into a rejection reason that groups
// alike layouts: the field for a degree, the term for an overflow.
func reasonOf(err error) string {
	var le *LayoutError
	if errors.As(err, &le) {
		return le.Field + ": " + trimValue(le.Msg)
	}
	var oe *OverflowError
	if errors.As(err, &oe) {
		return "memory: " + oe.Term + " overflow the device"
	}
	return err.Error()
}

// trimValue drops per-layout numbers so that reasons group.
func trimValue(msg string) string {
	for _, g := range []struct{ prefix, reason string }{
		{"tp·pp·cp·dp ", "tp·pp·cp·dp misses the device count"},
		{"dp·micro_batch ", "dp·micro_batch does not divide the global batch"},
		{"pp·vpp ", "pp·vpp exceeds the layers"},
		{"must divide dp", "ep must divide dp·cp·tp"},
	} {
		if strings.HasPrefix(msg, g.prefix) {
			return g.reason
		}
	}
	return msg
}

// FewestChips finds the fewest chips whose best layout finishes o.Tokens
// within days. Counts are step × 2^a·3^b·5^c (what clusters are built
// as, and what divides global batches of round sizes). It probes at lo chips, jumps to the count the deadline needs
// (tokens/s per chip is nearly flat in the count), then bisects between
// the last count that misses and the first that makes it: a few
// searches instead of a sweep. newJob builds the job at a chip count;
// limit caps the count.
func FewestChips(newJob func(chips int) (*Estimator, error), space func(*Estimator) Space, o RunOptions, days float64, lo, step, limit int) (chips int, s Search, run Run, err error) {
	type probe struct {
		ok  bool
		s   Search
		r   Run
		err error
	}
	var counts []int
	for a := 1; step*a <= limit; a *= 2 {
		for b := a; step*b <= limit; b *= 3 {
			for c := b; step*c <= limit; c *= 5 {
				if step*c >= lo {
					counts = append(counts, step*c)
				}
			}
		}
	}
	sort.Ints(counts)
	if len(counts) == 0 {
		return 0, Search{}, Run{}, fmt.Errorf("no chip count between %d and %d", lo, limit)
	}
	memo := map[int]probe{}
	try := func(i int) probe {
		n := counts[i]
		if p, ok := memo[n]; ok {
			return p
		}
		var p probe
		e, err := newJob(n)
		if err != nil {
			p.err = err
		} else {
			p.s = e.Search(space(e))
			if p.s.Best != nil {
				p.r, p.err = e.Plan(*p.s.Best, o)
				p.ok = p.err == nil && p.r.Days <= days
			}
		}
		memo[n] = p
		return p
	}
	at := func(n float64) int { return min(sort.SearchInts(counts, int(math.Ceil(n))), len(counts)-1) }
	i, miss := 0, -1
	fits := false
	for {
		p := try(i)
		if p.err != nil {
			return 0, p.s, p.r, p.err
		}
		if p.ok {
			break
		}
		next := at(float64(counts[i]) * 2) // nothing fits yet: more chips for the memory
		switch {
		case p.s.Best != nil:
			fits, miss = true, i // a real miss: too slow
			next = at(float64(counts[i]) * p.r.Days / days * 1.02)
		case fits:
			next = i + 1 // this count does not divide; the next may
		default:
			miss = i // nothing fits: too little memory
		}
		if next <= i {
			next = i + 1
		}
		if next >= len(counts) {
			return 0, p.s, p.r, fmt.Errorf("no layout on up to %d chips finishes in %g days", limit, days)
		}
		i = next
	}
	for miss+1 < i { // counts[miss] misses, counts[i] makes it
		// A count no layout divides says nothing about the deadline: probe
		// the nearest count above the middle that has a layout.
		mid := (miss + i) / 2
		for mid < i && try(mid).err == nil && try(mid).s.Best == nil {
			mid++
		}
		if mid == i { // nothing between the middle and i: look below
			mid = (miss + i) / 2
			for mid > miss && try(mid).err == nil && try(mid).s.Best == nil {
				mid--
			}
			if mid == miss {
				break
			}
		}
		if try(mid).ok {
			i = mid
		} else {
			miss = mid
		}
	}
	p := try(i)
	return counts[i], p.s, p.r, nil
}
