package cli

import (
	"fmt"
	"slices"
	"strings"

	"ersatz/internal/hardware"
)

// onNode returns the catalog with chip placed in node by default, so that
// every model built from it (perf's links and scale-up domain, predict's
// scenarios) sees the node the user named: --node cloudmatrix384 puts a
// 910C deployment in one 384-chip UB domain instead of 8-chip servers.
func onNode(cat *hardware.Catalog, chip *hardware.Chip, node string) (*hardware.Catalog, *hardware.Chip, error) {
	n, err := cat.Node(node)
	if err != nil {
		return nil, nil, fmt.Errorf("--node: %w", err)
	}
	if !slices.Contains(n.Chips, chip.ID) {
		return nil, nil, usagef("--node %s: holds %s, not %s", n.ID, strings.Join(n.Chips, ", "), chip.ID)
	}
	c := *chip
	c.Node = n.ID
	out := *cat
	out.Chips = slices.Clone(cat.Chips)
	for i, x := range out.Chips {
		if x == chip {
			out.Chips[i] = &c
		}
	}
	return &out, &c, nil
}
