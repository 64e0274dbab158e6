package train

import (
	"math"
	"testing"
)

// The shipped calibration parses, names its evidence, and prices an
// in-house stack at the model's speed.
func TestDefaultCalibration(t *testing.T) {
	c := DefaultCalibration()
	if c.All.Groups < 2 || len(c.All.Cases) == 0 {
		t.Errorf("all: %d groups, %d cases", c.All.Groups, len(c.All.Cases))
	}
	if e, _ := c.Efficiency(InHouse, "hopper"); e != 1 {
		t.Errorf("in-house stack: efficiency %g, want 1", e)
	}
	// An open framework on a family with a refinement gets All × it; on
	// one without, All alone.
	want := c.All.Value
	if f := c.Family["hopper"]; f != nil {
		want *= f.Value
	}
	if e, _ := c.Efficiency("megatron", "hopper"); math.Abs(e-want) > 1e-12 {
		t.Errorf("megatron on hopper: %g, want %g", e, want)
	}
	if e, _ := c.Efficiency("megatron", "cambricon"); e != c.All.Value {
		t.Errorf("megatron on cambricon: %g, want All %g", e, c.All.Value)
	}
	var nilCal *Calibration
	if e, _ := nilCal.Efficiency("megatron", "hopper"); e != 1 {
		t.Errorf("nil calibration: %g, want 1", e)
	}
}

func TestParseCalibrationErrors(t *testing.T) {
	for _, in := range []string{
		"family: {}\n",                 // no all
		"all: {value: 0, groups: 3}\n", // not positive
		"all: {value: 0.7}\nfamily: {hopper: {value: -1}}\n", // family not positive
		"all: {value: 0.7}\nbogus: 1\n",                      // unknown field
	} {
		if _, err := ParseCalibration([]byte(in)); err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

func FuzzParseCalibration(f *testing.F) {
	f.Add(shippedCalibration)
	f.Add([]byte("all: {value: 0.7, groups: 3}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCalibration(data)
		if err != nil {
			return
		}
		if e, _ := c.Efficiency("megatron", "hopper"); !(e > 0) || math.IsInf(e, 0) {
			t.Errorf("accepted a calibration giving efficiency %g", e)
		}
	})
}
