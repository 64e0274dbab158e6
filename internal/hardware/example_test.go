package hardware_test

import (
	"fmt"

	"ersatz/internal/hardware"
)

// Chips resolve by id or alias, and say which precisions they compute in.
func ExampleCatalog_Chip() {
	c, _ := hardware.Default().Chip("910b")
	fmt.Println(c.ID, c.PrecisionNames(), c.Memory().GiB(), "GiB")
	_, err := hardware.Default().Chip("h1000")
	fmt.Println(err)
	// Output:
	// ascend-910b2 [bf16 fp16 int8] 64 GiB
	// unknown chip "h1000"; did you mean h100, a100, bw1000?
}
