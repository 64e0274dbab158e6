// Package policy decides which accelerators a buyer may use. A policy is
// data: an ordered list of rules, each matching chips by vendor or id and
// carrying its reason, source and date, so that every exclusion in a plan
// can be traced to the measure that caused it.
package policy

import (
	"embed"
	"fmt"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"ersatz/internal/hardware"
)

// Action is what a matching rule does.
type Action string

// Rule actions. Review allows the chip but flags it: a licence or a
// case-by-case approval stands between the buyer and the chip.
const (
	Allow  Action = "allow"
	Deny   Action = "deny"
	Review Action = "review"
)

// Rule matches chips by vendor or id (either list may be empty; an empty
// rule matches every chip).
type Rule struct {
	Action  Action   `json:"action"`
	Vendors []string `json:"vendors,omitempty"`
	Chips   []string `json:"chips,omitempty"`
	Reason  string   `json:"reason"`
	Source  string   `json:"source,omitempty"` // citation, e.g. "FR 2026-00789"
	URL     string   `json:"url,omitempty"`
	Date    string   `json:"date,omitempty"` // when the measure took effect, YYYY-MM-DD
}

// Policy is a named rule list. Rules apply in order and the last match
// wins, as in .gitignore; a chip no rule matches is allowed.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	AsOf        string `json:"as_of,omitempty"` // the date the policy describes
	Rules       []Rule `json:"rules"`
}

// Decision is a policy's verdict on one chip.
type Decision struct {
	Action Action `json:"action"`
	Policy string `json:"policy"`
	Rule   *Rule  `json:"rule,omitempty"` // nil when no rule matched
}

// Allowed reports whether the chip may be used (perhaps under review).
func (d Decision) Allowed() bool { return d.Action != Deny }

// String explains the decision in one line.
func (d Decision) String() string {
	if d.Rule == nil {
		return fmt.Sprintf("%s: allowed (no rule matches)", d.Policy)
	}
	s := fmt.Sprintf("%s: %s: %s", d.Policy, d.Action, d.Rule.Reason)
	if d.Rule.Source != "" {
		s += " [" + d.Rule.Source
		if d.Rule.Date != "" {
			s += ", " + d.Rule.Date
		}
		s += "]"
	}
	return s
}

func (r *Rule) matches(c *hardware.Chip) bool {
	if len(r.Vendors) > 0 && !containsFold(r.Vendors, c.Vendor) {
		return false
	}
	if len(r.Chips) > 0 && !containsFold(r.Chips, c.ID) && !anyFold(r.Chips, c.Aliases) {
		return false
	}
	return true
}

// Decide applies p to c.
func (p *Policy) Decide(c *hardware.Chip) Decision {
	d := Decision{Action: Allow, Policy: p.ID}
	for i := range p.Rules {
		if p.Rules[i].matches(c) {
			d.Action, d.Rule = p.Rules[i].Action, &p.Rules[i]
		}
	}
	return d
}

// Set is several policies that must all allow a chip (a Chinese commercial
// buyer is bound by Beijing's guidance and by US export rules at once).
type Set []*Policy

// Decide returns the first denial, else the first review, else an allow.
func (s Set) Decide(c *hardware.Chip) Decision {
	var review *Decision
	for _, p := range s {
		d := p.Decide(c)
		switch d.Action {
		case Deny:
			return d
		case Review:
			if review == nil {
				review = &d
			}
		}
	}
	if review != nil {
		return *review
	}
	id := "none"
	if len(s) > 0 {
		id = s.ID()
	}
	return Decision{Action: Allow, Policy: id}
}

// ID joins the member ids with "+".
func (s Set) ID() string {
	ids := make([]string, len(s))
	for i, p := range s {
		ids[i] = p.ID
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, "+")
}

// Parse reads a policy from YAML and checks it against the catalog's
// vendors and chips, so a typo cannot silently allow everything.
func Parse(data []byte, cat *hardware.Catalog) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	if err := p.Validate(cat); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks ids, actions and that every named vendor and chip exists.
func (p *Policy) Validate(cat *hardware.Catalog) error {
	if p.ID == "" {
		return fmt.Errorf("policy: id: required")
	}
	vendors := map[string]bool{}
	for _, c := range cat.Chips {
		vendors[c.Vendor] = true
	}
	for i, r := range p.Rules {
		f := fmt.Sprintf("policy %s: rules[%d]", p.ID, i)
		switch r.Action {
		case Allow, Deny, Review:
		default:
			return fmt.Errorf("%s.action: want allow, deny or review (got %q)", f, r.Action)
		}
		if r.Reason == "" {
			return fmt.Errorf("%s.reason: required: say why the rule exists", f)
		}
		for _, v := range r.Vendors {
			if !vendors[strings.ToLower(v)] {
				return fmt.Errorf("%s.vendors: unknown vendor %q (want one of %s)", f, v, strings.Join(keys(vendors), ", "))
			}
		}
		for _, c := range r.Chips {
			if _, err := cat.Chip(c); err != nil {
				return fmt.Errorf("%s.chips: %w", f, err)
			}
		}
	}
	return nil
}

//go:embed presets/*.yaml
var presets embed.FS

// Presets returns the built-in policies by id.
func Presets(cat *hardware.Catalog) (map[string]*Policy, error) {
	entries, err := presets.ReadDir("presets")
	if err != nil {
		return nil, err
	}
	out := map[string]*Policy{}
	for _, e := range entries {
		data, err := presets.ReadFile(path.Join("presets", e.Name()))
		if err != nil {
			return nil, err
		}
		p, err := Parse(data, cat)
		if err != nil {
			return nil, fmt.Errorf("preset %s: %w", e.Name(), err)
		}
		out[p.ID] = p
	}
	return out, nil
}

// PresetIDs lists the built-in policy ids, sorted.
func PresetIDs(cat *hardware.Catalog) []string {
	ps, err := Presets(cat)
	if err != nil {
		return nil
	}
	return keys2(ps)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys2(m map[string]*Policy) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func anyFold(list, candidates []string) bool {
	for _, c := range candidates {
		if containsFold(list, c) {
			return true
		}
	}
	return false
}
