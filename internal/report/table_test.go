package report

import (
	"bytes"
	"os"
	"testing"
)

func TestNum(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{3066.4, "3,066"},
		{1234567, "1,234,567"},
		{-24524.9, "-24,525"},
		{12.5, "12.5"},
		{0.04213, "0.0421"},
	} {
		if got := Num(tt.v, 3); got != tt.want {
			t.Errorf("Num(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func ExampleTable_WriteText() {
	t := &Table{Header: []string{"chip", "bf16 TFLOPS"}, Right: map[int]bool{1: true}}
	t.Add("h100-sxm", 989)
	t.Add("ascend-910b2", 353.9)
	t.WriteText(os.Stdout)
	// Output:
	// chip          bf16 TFLOPS
	// h100-sxm              989
	// ascend-910b2        353.9
}

func TestWriteText(t *testing.T) {
	tb := &Table{Header: []string{"chip", "bf16"}, Right: map[int]bool{1: true}}
	tb.Add("h100-sxm", 989)
	tb.Add("ascend-910b2", 353.9)
	var b bytes.Buffer
	if err := tb.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "chip           bf16\nh100-sxm        989\nascend-910b2  353.9\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
