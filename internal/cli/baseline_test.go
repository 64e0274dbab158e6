package cli

import (
	"strings"
	"testing"
)

func TestCutCount(t *testing.T) {
	for _, tc := range []struct {
		in, count, chip string
		ok              bool
	}{
		{"64xh20", "64", "h20", true},
		{"64×ascend-910c", "64", "ascend-910c", true},
		{" 8*H100 ", "8", "H100", true},
		{"8X h100-sxm", "8", "h100-sxm", true},
		{"h20", "", "", false},   // no count
		{"64x", "", "", false},   // no chip
		{"64h20", "", "", false}, // no separator
		{"x64", "", "", false},
	} {
		count, chip, ok := cutCount(tc.in)
		if count != tc.count || chip != tc.chip || ok != tc.ok {
			t.Errorf("cutCount(%q) = %q, %q, %v; want %q, %q, %v", tc.in, count, chip, ok, tc.count, tc.chip, tc.ok)
		}
	}
}

func FuzzCutCount(f *testing.F) {
	for _, s := range []string{"64xh20", "64×h20", "1*a", "x", "", "99999999999999999999xh20", "8x 8x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		count, chip, ok := cutCount(s)
		if !ok {
			return
		}
		if count == "" || strings.Trim(count, "0123456789") != "" || chip == "" {
			t.Errorf("cutCount(%q) = %q, %q: want digits and a chip", s, count, chip)
		}
		if !strings.HasPrefix(strings.TrimSpace(s), count) || !strings.HasSuffix(strings.TrimSpace(s), chip) {
			t.Errorf("cutCount(%q) = %q, %q: not the input's parts", s, count, chip)
		}
	})
}
