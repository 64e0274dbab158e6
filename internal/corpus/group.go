package corpus

import "strings"

// GroupKey is the case's cross-validation group: its `group` field, or
// else its `source` up to the first comma or colon (the spec's default),
// trimmed. Cases of one group share a harness, so leave-one-source-out
// cross-validation holds them out together. A case with neither is a
// group of its own, named by its id.
func (c *Case) GroupKey() string {
	if g := strings.TrimSpace(c.Group); g != "" {
		return g
	}
	s := c.Source
	if i := strings.IndexAny(s, ",:"); i >= 0 {
		s = s[:i]
	}
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return "id " + c.ID
}
