package accuracy

import (
	"maps"
	"math"
	"slices"
	"sort"
)

// MinGroups is the fewest independent groups (sources) a pool of
// residuals needs before a regime uses it; with fewer, the regime falls
// back to a wider pool. Three groups is the least that says anything
// about spread between sources.
const MinGroups = 3

// NoFamilyWiden scales the spread of a family with no measured case at
// all (Cambricon, Kunlunxin, Hygon, roadmap parts): the spread of the
// measured families' uncorrected errors is a floor for them, not an
// estimate. It is a stated judgement, as nothing can check it.
const NoFamilyWiden = 1.5

// ParamLevel is the level the spec and parameter band (pessimistic to
// optimistic inputs) is read at; at another level it is scaled with the
// normal quantile.
const ParamLevel = 0.8

// Pool keys besides regimes (engine/family/phase).
const (
	poolAll        = "all"
	poolUnmeasured = "unmeasured"
	enginePrefix   = "engine "
	familyPrefix   = "family "
)

// Pool is a set of oriented residuals, sorted, with the number of groups
// behind them.
type Pool struct {
	Groups    int       `json:"groups"`
	Residuals []float64 `json:"residuals"`
}

// Table is the residual table: pools by regime, engine, family and all
// cases, and the uncorrected residuals of all cases for pairs the corpus
// never measured.
type Table struct {
	MinGroups int              `json:"min_groups"`
	Pools     map[string]*Pool `json:"pools"`
	// Pairs and Families are the (engine, family) pairs and the
	// families with at least one predicted case.
	Pairs    []string `json:"measured_pairs"`
	Families []string `json:"measured_families"`
}

// fitTable pools the residuals after the stack efficiencies (after) by
// regime, and keeps the uncorrected ones (base) of every case for pairs
// without cases.
func fitTable(after, base []sample) *Table {
	t := &Table{MinGroups: MinGroups, Pools: map[string]*Pool{}}
	type acc struct {
		r      []float64
		groups map[string]bool
	}
	accs := map[string]*acc{}
	add := func(k string, s sample) {
		a := accs[k]
		if a == nil {
			a = &acc{groups: map[string]bool{}}
			accs[k] = a
		}
		a.r = append(a.r, s.r)
		a.groups[s.group] = true
	}
	pairs, fams := map[string]bool{}, map[string]bool{}
	for _, s := range after {
		if !s.ok {
			continue
		}
		add(s.regime.key(), s)
		add(enginePrefix+s.regime.Engine, s)
		add(familyPrefix+s.regime.Family, s)
		add(poolAll, s)
		pairs[s.regime.pair()], fams[s.regime.Family] = true, true
	}
	for _, s := range base {
		if s.ok {
			add(poolUnmeasured, s)
		}
	}
	for k, a := range accs {
		if len(a.groups) < MinGroups && k != poolAll && k != poolUnmeasured {
			continue
		}
		r := append([]float64(nil), a.r...)
		for i := range r {
			r[i] = round4(r[i])
		}
		sort.Float64s(r)
		t.Pools[k] = &Pool{Groups: len(a.groups), Residuals: r}
	}
	t.Pairs, t.Families = slices.Sorted(maps.Keys(pairs)), slices.Sorted(maps.Keys(fams))
	return t
}

// Lookup returns the pool a regime's band comes from, how much to widen
// it, and where it came from: the regime's own pool, else its engine's,
// else its family's, else all cases'; for a pair the corpus never
// measured, the uncorrected residuals of all cases (widened for a family
// never measured at all).
func (t *Table) Lookup(r Regime) (*Pool, float64, string) {
	if !slices.Contains(t.Pairs, r.pair()) {
		widen, where := 1.0, "unmeasured pair, uncorrected spread of all cases"
		if !slices.Contains(t.Families, r.Family) {
			widen, where = NoFamilyWiden, "unmeasured family, uncorrected spread of all cases widened"
		}
		if p := t.Pools[poolUnmeasured]; p != nil {
			return p, widen, where
		}
	}
	for _, k := range []string{r.key(), enginePrefix + r.Engine, familyPrefix + r.Family} {
		if p := t.Pools[k]; p != nil {
			return p, 1, k
		}
	}
	return t.Pools[poolAll], 1, poolAll
}

// Band returns the interval at level (0.8 for 80%) around a prediction v
// of metric whose spec and parameter band is [lo, hi] (both 0: none).
// Each side combines the parameter band's half-width (log scale, read as
// a ParamLevel interval) with the residual pool's quantile at that side.
// Where the pool is the pair's own (the corpus measured this engine on
// this family), its residuals already carry the inputs' uncertainty, so
// the wider of the two is taken; for an unmeasured pair the two are
// independent and add in quadrature. The point stays inside the band.
func (t *Table) Band(r Regime, metric string, v, lo, hi, level float64) (float64, float64, string) {
	if t == nil || !(v > 0) {
		return lo, hi, ""
	}
	scale := zTwoSided(level) / zTwoSided(ParamLevel)
	aLo, aHi := 0.0, 0.0
	if lo > 0 && lo < v {
		aLo = math.Log(v/lo) * scale
	}
	if hi > v {
		aHi = math.Log(hi/v) * scale
	}
	var dLo, dHi float64
	where := ""
	combine := math.Max
	if p, widen, w := t.Lookup(r); p != nil && len(p.Residuals) > 0 {
		where = w
		if !slices.Contains(t.Pairs, r.pair()) {
			combine = math.Hypot
		}
		qL := quantile(p.Residuals, (1-level)/2) * widen
		qH := quantile(p.Residuals, (1+level)/2) * widen
		if Latency(metric) {
			qL, qH = -qH, -qL
		}
		dLo, dHi = math.Max(-qL, 0), math.Max(qH, 0)
	}
	return v * math.Exp(-combine(aLo, dLo)), v * math.Exp(combine(aHi, dHi)), where
}

// ParamBand reads a spec and parameter band [lo, hi] around v (a
// ParamLevel interval) at level, on the log scale by the normal quantile,
// as [Table.Band] does before it adds the residual spread.
func ParamBand(v, lo, hi, level float64) (float64, float64) {
	if !(v > 0) {
		return lo, hi
	}
	k := zTwoSided(level) / zTwoSided(ParamLevel)
	if lo > 0 && lo < v {
		lo = v * math.Exp(-math.Log(v/lo)*k)
	}
	if hi > v {
		hi = v * math.Exp(math.Log(hi/v)*k)
	}
	return lo, hi
}

// quantile is the q-quantile of sorted xs by linear interpolation between
// order statistics (Hyndman and Fan's type 7, R's and NumPy's default).
func quantile(xs []float64, q float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	h := q * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return xs[n-1]
	}
	if i < 0 {
		return xs[0]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// zTwoSided is the half-width, in standard deviations, of the central
// normal interval holding level.
func zTwoSided(level float64) float64 { return math.Sqrt2 * math.Erfinv(level) }
