package corpus

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
)

// WriteText writes the report as text: one row per case (id, chip, metric,
// measured, predicted, error %, band), then the error grouped by vendor,
// engine and metric (n, failed, median |error|, share within 25 %, share
// within band, median relative band width (high − low) / predicted), then
// the overall summary and the report's Note. vendorOf maps a chip to its
// vendor; when it is nil the vendor table is left out (unless
// [Report.SetVendors] was called before).
func (r *Report) WriteText(w io.Writer, vendorOf func(chip string) string) error {
	if vendorOf != nil {
		r.SetVendors(vendorOf)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "id\tchip\tmetric\tmeasured\tpredicted\terror\tband")
	for i := range r.Cases {
		c := &r.Cases[i]
		pred, errs, band := "-", "-", "-"
		if c.Predicted != nil {
			pred = num(*c.Predicted)
			errs = fmt.Sprintf("%+.1f%%", *c.Error*100)
		}
		if c.Low != nil {
			band = num(*c.Low) + ".." + num(*c.High)
			if c.InBand {
				band += " ok"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Chip, c.Metric, num(c.Measured), pred, errs, band)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := range r.Cases {
		if c := &r.Cases[i]; c.Reason != "" {
			fmt.Fprintf(w, "%s: not predicted: %s\n", c.ID, c.Reason)
		}
	}
	if len(r.ByVendor) > 0 {
		if err := writeGroups(w, "vendor", r.ByVendor); err != nil {
			return err
		}
	}
	if len(r.ByEngine) > 0 {
		if err := writeGroups(w, "engine", r.ByEngine); err != nil {
			return err
		}
	}
	if err := writeGroups(w, "metric", r.ByMetric); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\nall: n %d, failed %d, median |error| %.1f%%, mape %.1f%%, within 25%% %.0f%%, within band %.0f%%, median band width %.0f%%\n",
		s.N, s.Failed, s.MedianAbsError*100, s.MAPE*100, s.Within25Pct*100, s.WithinBand*100, s.MedianBandWidth*100)
	if err == nil && r.Note != "" {
		_, err = fmt.Fprintln(w, r.Note)
	}
	return err
}

func writeGroups(w io.Writer, title string, groups map[string]Summary) error {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\tn\tfailed\tmedian |error|\twithin 25%%\twithin band\tband width\n", title)
	for _, k := range keys {
		s := groups[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.0f%%\t%.0f%%\t%.0f%%\n", k, s.N, s.Failed, s.MedianAbsError*100, s.Within25Pct*100, s.WithinBand*100, s.MedianBandWidth*100)
	}
	return tw.Flush()
}

// num formats a figure: whole numbers from 100 up, else at most 4
// significant digits.
func num(v float64) string {
	switch {
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}
