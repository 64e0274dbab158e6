package policy

import (
	"strings"
	"testing"

	"ersatz/internal/hardware"
)

func TestPresets(t *testing.T) {
	cat := hardware.Default()
	ps, err := Presets(cat)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"none", "cn-domestic", "cn-commercial-2025", "us-export-2026"} {
		if ps[id] == nil {
			t.Fatalf("preset %s missing", id)
		}
	}
	tests := []struct {
		policies string
		chip     string
		want     Action
	}{
		{"none", "h100-sxm", Allow},
		{"cn-domestic", "h20", Deny},          // vendor nvidia
		{"cn-domestic", "mi300x", Deny},       // vendor amd
		{"cn-domestic", "ascend-910c", Allow}, // no rule matches
		{"cn-domestic", "p800", Allow},
		{"cn-commercial-2025", "h20", Deny},
		{"cn-commercial-2025", "rtx-pro-6000d", Deny},
		{"cn-commercial-2025", "h200-sxm", Review},
		{"cn-commercial-2025", "b200", Allow}, // Beijing says nothing of it; US rules do
		{"us-export-2026", "b200", Deny},
		{"us-export-2026", "h200-sxm", Review}, // last match wins over the vendor deny
		{"us-export-2026", "l20", Allow},
		{"us-export-2026", "ascend-910b2", Allow},
		// both at once: the first denial wins, else the first review
		{"cn-commercial-2025,us-export-2026", "b200", Deny},
		{"cn-commercial-2025,us-export-2026", "h20", Deny},
		{"cn-commercial-2025,us-export-2026", "h200-sxm", Review},
		{"cn-commercial-2025,us-export-2026", "l20", Allow},
	}
	for _, tt := range tests {
		var set Set
		for _, id := range strings.Split(tt.policies, ",") {
			set = append(set, ps[id])
		}
		c, err := cat.Chip(tt.chip)
		if err != nil {
			t.Fatal(err)
		}
		if d := set.Decide(c); d.Action != tt.want {
			t.Errorf("%s on %s: %s, want %s (%s)", tt.policies, tt.chip, d.Action, tt.want, d)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cat := hardware.Default()
	tests := []struct {
		yaml, want string
	}{
		{"name: x\nrules: []", "policy: id: required"},
		{"id: x\nrules: [{action: ban, reason: r}]", `rules[0].action: want allow, deny or review (got "ban")`},
		{"id: x\nrules: [{action: deny}]", "rules[0].reason: required"},
		{"id: x\nrules: [{action: deny, vendors: [intel], reason: r}]", `rules[0].vendors: unknown vendor "intel"`},
		{"id: x\nrules: [{action: deny, chips: [h1000], reason: r}]", `rules[0].chips: unknown chip "h1000"`},
		{"id: x\nrulez: []", "unknown field"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yaml), cat)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.yaml, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	cat := hardware.Default()
	entries, _ := presets.ReadDir("presets")
	for _, e := range entries {
		data, _ := presets.ReadFile("presets/" + e.Name())
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, cat)
		if err == nil {
			for _, c := range cat.Chips {
				_ = p.Decide(c).String()
			}
		}
	})
}
