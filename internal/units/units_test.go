package units

import (
	"math"
	"testing"
)

func TestTime(t *testing.T) {
	// 2 TFLOP at 1 PFLOP/s takes 2 ms; 8 GB at 4 TB/s takes 2 ms.
	if got := FLOPs(2e12).Time(1e15); math.Abs(float64(got)-2e-3) > 1e-15 {
		t.Errorf("FLOPs.Time = %v, want 2ms", got)
	}
	if got := Bytes(8e9).Time(4e12); math.Abs(float64(got)-2e-3) > 1e-15 {
		t.Errorf("Bytes.Time = %v, want 2ms", got)
	}
	if got := Bytes(1).Time(0); !math.IsInf(float64(got), 1) {
		t.Errorf("Bytes.Time(0) = %v, want +Inf", got)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Bytes(80e9).String(), "80 GB"},
		{Bytes(999.9e9).String(), "1 TB"},
		{Bytes(512).String(), "512 B"},
		{FLOPSRate(989e12).String(), "989 TFLOP/s"},
		{BytesPerSecond(3.35e12).String(), "3.35 TB/s"},
		{Seconds(0.0125).String(), "12.5ms"},
		{Seconds(2.5e-6).String(), "2.5µs"},
		{Seconds(3).String(), "3s"},
		{Seconds(0).String(), "0s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSecondsJSON(t *testing.T) {
	for _, tt := range []struct {
		s    Seconds
		want string
	}{{0.0125, "0.0125"}, {Seconds(math.Inf(1)), "null"}, {Seconds(math.NaN()), "null"}} {
		got, err := tt.s.MarshalJSON()
		if err != nil || string(got) != tt.want {
			t.Errorf("MarshalJSON(%v) = %s, %v; want %s", tt.s, got, err, tt.want)
		}
	}
}
