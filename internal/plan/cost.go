package plan

import (
	"fmt"

	"ersatz/internal/hardware"
)

// Costs are the money and power assumptions of a plan. Every default is an
// estimate, and the plan's output says so.
type Costs struct {
	// Basis is "own" (purchase price amortized plus electricity) or "rent"
	// (the catalog's hourly rental price per chip, power included).
	Basis string `json:"basis"`
	// AmortizationYears spreads a chip's purchase price over its service life.
	AmortizationYears float64 `json:"amortization_years"`
	// ServerOverhead is the share added to the chip price for the rest of
	// the server (CPUs, memory, NICs, chassis, switches).
	ServerOverhead float64 `json:"server_overhead"`
	// ElectricityUSDPerKWh is the price of electricity.
	ElectricityUSDPerKWh float64 `json:"electricity_usd_per_kwh"`
	// PUE is the data centre's power usage effectiveness.
	PUE float64 `json:"pue"`
	// Utilization is the share of its rated power a busy chip draws on
	// average while serving.
	Utilization float64 `json:"power_utilization"`
}

// DefaultCosts are ersatz's documented estimates: four-year straight-line
// amortization (typical of cloud providers' server depreciation schedules,
// which run 4 to 6 years), 40% of the chip price again for the server and
// network, $0.08/kWh (Chinese and US industrial tariffs are both near this),
// PUE 1.3 (a modern air-cooled hall), chips at 75% of rated power.
var DefaultCosts = Costs{
	Basis:                "own",
	AmortizationYears:    4,
	ServerOverhead:       0.4,
	ElectricityUSDPerKWh: 0.08,
	PUE:                  1.3,
	Utilization:          0.75,
}

// Validate names the first bad field.
func (c Costs) Validate() error {
	switch {
	case c.Basis != "own" && c.Basis != "rent":
		return fmt.Errorf("cost basis %q: want own or rent", c.Basis)
	case c.AmortizationYears <= 0:
		return fmt.Errorf("amortization years %g: want a positive number", c.AmortizationYears)
	case c.ServerOverhead < 0:
		return fmt.Errorf("server overhead %g: want a non-negative fraction", c.ServerOverhead)
	case c.ElectricityUSDPerKWh < 0:
		return fmt.Errorf("electricity price %g: want a non-negative $/kWh", c.ElectricityUSDPerKWh)
	case c.PUE < 1:
		return fmt.Errorf("PUE %g: want at least 1", c.PUE)
	case c.Utilization <= 0 || c.Utilization > 1:
		return fmt.Errorf("power utilization %g: want a fraction in (0, 1]", c.Utilization)
	}
	return nil
}

// ChipPower is one busy chip's wall power in watts: its rated power at the
// utilization, plus its share of the node's overhead, times PUE.
func (c Costs) ChipPower(chip *hardware.Chip, node *hardware.Node) float64 {
	w := chip.PowerW.Value * c.Utilization
	if node != nil && node.OverheadPowerW.Known() && node.ChipsPerNode > 0 {
		w += node.OverheadPowerW.Value / float64(node.ChipsPerNode)
	}
	return w * c.PUE
}

// ChipHourly is the cost of one chip for one hour in USD, and whether it
// rests on estimated numbers.
func (c Costs) ChipHourly(chip *hardware.Chip, node *hardware.Node) (usd float64, estimate bool, err error) {
	if c.Basis == "rent" {
		if !chip.RentUSDPerHour.Known() {
			return 0, false, fmt.Errorf("%s has no rental price in the catalog; use the own basis or add rent_usd_per_hour", chip.ID)
		}
		return chip.RentUSDPerHour.Value, chip.RentUSDPerHour.Confidence != hardware.Datasheet, nil
	}
	if !chip.PriceUSD.Known() {
		return 0, false, fmt.Errorf("%s has no price in the catalog; add price_usd or use the rent basis", chip.ID)
	}
	capex := chip.PriceUSD.Value * (1 + c.ServerOverhead) / (c.AmortizationYears * 365 * 24)
	energy := c.ChipPower(chip, node) / 1000 * c.ElectricityUSDPerKWh
	return capex + energy, true, nil
}
