package cli

import (
	"fmt"
	"sort"
	"strings"

	"ersatz/internal/plan"
	"ersatz/internal/policy"
)

// The English of the planner's values: its reasons, bindings, bounds and
// the why of an answer. internal/plan returns values; only this file turns
// them into sentences.

// reasonText is each rejection reason as the output names it.
var reasonText = map[plan.Reason]string{
	plan.ReasonPolicy:    "not allowed by policy",
	plan.ReasonRoadmap:   "not shipping (roadmap; --include-roadmap)",
	plan.ReasonCost:      "no price in the catalog",
	plan.ReasonPrecision: "precision not supported",
	plan.ReasonLayout:    "impossible layout",
	plan.ReasonFit:       "does not fit",
	plan.ReasonTPOT:      "misses TPOT",
	plan.ReasonTTFT:      "misses TTFT",
	plan.ReasonScale:     "more chips than the largest cluster",
	plan.ReasonBudget:    "over budget",
}

func reasonWords(r plan.Reason) string {
	if t, ok := reasonText[r]; ok {
		return t
	}
	return string(r)
}

// bindingText is what binds a plan: "TPOT p90 50 ms", "TPOT p90 50 ms
// (decode), 1:1 prefill:decode", or a batch limit ("kv-cache").
func bindingText(b plan.Binding) string {
	var s string
	switch b.Limit {
	case plan.LimitTPOT:
		s = fmt.Sprintf("TPOT p%g %.0f ms", b.Percentile, b.TargetS*1e3)
	case plan.LimitTTFT:
		s = fmt.Sprintf("TTFT p%g %.0f ms", b.Percentile, b.TargetS*1e3)
	default:
		return string(b.Limit)
	}
	if b.DecodeReplicas > 0 {
		s += fmt.Sprintf(" (decode), %d:%d prefill:decode", b.PrefillReplicas, b.DecodeReplicas)
	}
	return s
}

// boundText is the part that dominates a step: "experts 32% of the step
// (memory-bound)".
func boundText(b plan.Bound) string {
	if b.Part == "" {
		return ""
	}
	return fmt.Sprintf("%s %.0f%% of the step (%s-bound)", b.Part, 100*b.Share, b.Kind.String())
}

// decisionWord is a chip's policy action.
func decisionWord(d policy.Decision) string {
	if d.Action == "" {
		return string(policy.Allow)
	}
	return string(d.Action)
}

func objectiveWord(o plan.Objective) string {
	switch o {
	case plan.MinChips:
		return "fewest-chip"
	case plan.MinPower:
		return "lowest-power"
	}
	return "cheapest"
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// whyText explains the recommendation, or names the binding constraint and
// the nearest miss when there is none.
func whyText(res *plan.Result) string {
	w := res.Why
	switch w.Kind {
	case plan.WhyRecommended:
		p := res.Recommended
		var b strings.Builder
		shape := fmt.Sprintf("%d × %s", p.Replicas, p.Layout)
		if p.Serving == plan.Disaggregated {
			shape = fmt.Sprintf("%d prefill × %s + %d decode × %s", p.PrefillReplicas, p.PrefillLayout, p.Replicas, p.Layout)
		}
		if p.PrefillChip != "" {
			shape = fmt.Sprintf("%d prefill × %s on %s at %s + %d decode × %s on %s", p.PrefillReplicas, p.PrefillLayout, p.PrefillChip, p.PrefillWeights, p.Replicas, p.Layout, p.Chip)
		}
		chip := p.Chip
		if p.PrefillChip != "" {
			chip = p.PrefillChip + "→" + p.Chip
		}
		fmt.Fprintf(&b, "%s is the %s plan the policy allows: %d chip%s (%s, %s) at $%.3g/h",
			chip, objectiveWord(w.Objective), p.ChipsTotal, pluralS(p.ChipsTotal), shape, p.Weights, p.CostUSDPerHour)
		if next := w.RunnerUp; next != nil {
			fmt.Fprintf(&b, " against $%.3g/h for the next chip, %s", next.CostUSDPerHour, next.Chip)
		}
		fmt.Fprintf(&b, ". Each instance is bound by %s; its step is dominated by %s.", bindingText(p.Binding), boundText(p.Bound))
		if w.EstimatedSpecs {
			fmt.Fprintf(&b, " Caution: %s's performance figures are estimates without a primary source, so its latency band is wide (TPOT %.3g–%.3g ms).",
				p.Chip, p.TPOTLowS*1e3, p.TPOTHighS*1e3)
		}
		if r := w.Review; r != nil {
			fmt.Fprintf(&b, " Its purchase needs review (%s).", ruleText(r))
		}
		return b.String()
	case plan.WhyPolicyDenies:
		msg := fmt.Sprintf("policy %s allows none of the %d candidate chips", w.Policy, w.Chips)
		if o := w.Without; o != nil {
			msg += fmt.Sprintf("; without it the best plan is %d × %s at $%.3g/h", o.ChipsTotal, o.Chip, o.CostUSDPerHour)
		}
		return msg + "."
	}
	msg := fmt.Sprintf("no allowed chip meets the target; the binding constraint is %q (%d candidates)", reasonWords(w.Binding), w.Count)
	if n := w.Nearest; n != nil {
		msg += fmt.Sprintf("; nearest miss: %s, %s (%s)", n.Chip, n.Detail, overText(n.Miss))
	}
	if o := w.Without; o != nil {
		msg += fmt.Sprintf("; without the policy, %d × %s would do it at $%.3g/h", o.ChipsTotal, o.Chip, o.CostUSDPerHour)
	}
	return msg + "."
}

// overText says how far a miss is from passing: "20% over", or "×340,000"
// when it is far past.
func overText(miss float64) string {
	if miss > 10 {
		return fmt.Sprintf("×%s over", strings.TrimSuffix(fmt.Sprintf("%.3g", miss), ".0"))
	}
	return fmt.Sprintf("%.0f%% over", (miss-1)*100)
}

// counts lists rejections by reason, the most frequent first.
func counts(m map[plan.Reason]int) string {
	keys := make([]plan.Reason, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return m[a] > m[b] || m[a] == m[b] && reasonWords(a) < reasonWords(b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", reasonWords(k), m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func nearest(r *plan.Rejection) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s: %s", reasonWords(r.Reason), r.Detail)
}

// ruleText is a policy rule's reason with its citation, as policy.Decision
// prints it: "reason [source, date]".
func ruleText(r *policy.Rule) string {
	s := r.Reason
	if r.Source != "" {
		s += " [" + r.Source
		if r.Date != "" {
			s += ", " + r.Date
		}
		s += "]"
	}
	return s
}

// planJSON is plan's --json: the result's values, and the sentence the
// text output prints for its why.
type planJSON struct {
	*plan.Result
	WhyText string `json:"why_text"`
	// AnswerText is the answer against the --baseline fleet in one sentence.
	AnswerText string `json:"answer_text,omitempty"`
}
