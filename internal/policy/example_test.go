package policy_test

import (
	"fmt"

	"ersatz/internal/hardware"
	"ersatz/internal/policy"
)

// A Chinese commercial buyer is bound by Beijing's guidance and by US
// export rules at once.
func ExampleSet_Decide() {
	cat := hardware.Default()
	ps, _ := policy.Presets(cat)
	set := policy.Set{ps["cn-commercial-2025"], ps["us-export-2026"]}
	for _, id := range []string{"h20", "h200-sxm", "b200", "ascend-910c"} {
		c, _ := cat.Chip(id)
		fmt.Println(id, set.Decide(c).Action)
	}
	// Output:
	// h20 deny
	// h200-sxm review
	// b200 deny
	// ascend-910c allow
}
