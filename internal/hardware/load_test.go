package hardware

import "testing"

func TestDefaultValid(t *testing.T) {
	cat, err := Load(embedded, "catalog")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Chips) == 0 {
		t.Fatal("no chips")
	}
}
