package train

import (
	"errors"
	"fmt"
	"sort"
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
// distributed optimizer) and 3 (FSDP), the three recompute policies,
// micro-batches of 1, 2 and 4, TP overlap on (current frameworks), EP
// overlap off (it needs DualPipe or a 1F1B A2A schedule).
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
		TPOverlap: []bool{true}, EPOverlap: []bool{false},
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
	reject := func(reason string, l Layout, n int) {
		r, ok := rej[reason]
		if !ok {
			r = &Rejection{Reason: reason, Example: l.String()}
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
					reject("tp·pp·cp does not divide the devices", Layout{TP: tp, PP: pp, CP: cp, DP: 0}, k)
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
											r, err := e.Evaluate(l)
											if err != nil {
												ex := l
												if r.Layout.DP > 0 {
													ex = r.Layout
												}
												reject(reasonOf(err), ex, 1)
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
		out.Best = &best
	}
	if nb > 1 {
		out.RunnerUp = &second
	}
	for _, k := range order {
		out.Rejections = append(out.Rejections, *rej[k])
	}
	sort.SliceStable(out.Rejections, func(a, b int) bool { return out.Rejections[a].Count > out.Rejections[b].Count })
	return out
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
	switch {
	case len(msg) > 12 && msg[:12] == "tp·pp·cp·dp ":
		return "tp·pp·cp·dp misses the device count"
	case len(msg) > 15 && msg[:15] == "dp·micro_batch ":
		return "dp·micro_batch does not divide the global batch"
	case len(msg) > 7 && msg[:7] == "pp·vpp ":
		return "pp·vpp exceeds the layers"
	case len(msg) > 14 && msg[:14] == "must divide dp":
		return "ep must divide dp·cp·tp"
	}
	return msg
}

// FewestChips finds the fewest chips (from lo, doubling, then bisecting
// over multiples of step) whose best layout finishes o.Tokens within days.
// newJob returns the job at a chip count.
func FewestChips(newJob func(chips int) (*Estimator, error), space func(*Estimator) Space, o RunOptions, days float64, lo, step, limit int) (chips int, s Search, run Run, err error) {
	ok := func(n int) (bool, Search, Run, error) {
		e, err := newJob(n)
		if err != nil {
			return false, Search{}, Run{}, err
		}
		s := e.Search(space(e))
		if s.Best == nil {
			return false, s, Run{}, nil
		}
		r, err := e.Plan(*s.Best, o)
		if err != nil {
			return false, s, Run{}, err
		}
		return r.Days <= days, s, r, nil
	}
	lo = max(lo, step)
	hi := lo
	var hs Search
	var hr Run
	for {
		good, s, r, err := ok(hi)
		if err != nil {
			return 0, Search{}, Run{}, err
		}
		if good {
			hs, hr = s, r
			break
		}
		lo = hi
		hi *= 2
		if hi > limit {
			return 0, s, r, fmt.Errorf("no layout on up to %d chips finishes in %g days", limit, days)
		}
	}
	if hi == lo {
		return hi, hs, hr, nil
	}
	for hi-lo > step {
		mid := (lo + hi) / 2 / step * step
		if mid <= lo {
			break
		}
		good, s, r, err := ok(mid)
		if err != nil {
			return 0, Search{}, Run{}, err
		}
		if good {
			hi, hs, hr = mid, s, r
		} else {
			lo = mid
		}
	}
	return hi, hs, hr, nil
}
