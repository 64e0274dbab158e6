package cli

import (
	"fmt"

	"ersatz/internal/hardware"
	"ersatz/internal/model"
	"ersatz/internal/report"
)

func runModels(e *env, args []string) error {
	fs := newFlags(e, "models", "[--model ID|PATH] [--aliases] [--json]")
	name := fs.String("model", "", "show one model: a catalog id or a path to a Hugging Face config.json")
	aliases := fs.Bool("aliases", false, "list the other ids (later checkpoints, variants, quantized releases) that resolve to a shipped config, with the reason")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *aliases {
		as := model.Default().Aliases()
		if *asJSON {
			return report.WriteJSON(e.stdout, map[string]any{"aliases": as})
		}
		t := &report.Table{Header: []string{"alias", "model", "why"}}
		for _, a := range as {
			t.Add(a.Alias, a.Model, a.Source)
		}
		return t.WriteText(e.stdout)
	}
	var ms []*model.Model
	if *name != "" {
		m, err := resolveModel(*name, "")
		if err != nil {
			return err
		}
		ms = append(ms, m)
	} else {
		cat := model.Default()
		for _, id := range cat.IDs() {
			m, err := cat.Model(id)
			if err != nil {
				return err
			}
			ms = append(ms, m)
		}
	}
	if *asJSON {
		views := make([]modelView, len(ms))
		for i, m := range ms {
			views[i] = newModelView(m)
		}
		return report.WriteJSON(e.stdout, map[string]any{"models": views})
	}
	t := &report.Table{
		Header: []string{"model", "architecture", "layers", "attention", "experts", "params", "active", "bf16 GB", "KV B/token"},
		Right:  map[int]bool{2: true, 5: true, 6: true, 7: true, 8: true},
	}
	for _, m := range ms {
		total, active := m.Params()
		t.Add(m.ID, m.Architecture, m.Layers, attention(m), experts(m), billions(total), billions(active),
			report.Num(m.WeightBytes(hardware.BF16)/1e9, 4), report.Num(m.KVBytesPerToken(hardware.BF16), 6))
	}
	t.Notes = []string{"params and active in billions, embeddings included, MTP layers excluded; KV bytes per token at bf16 over all layers (a sparse-attention indexer's fp8 keys included)."}
	if *name == "" {
		t.Notes = append(t.Notes, fmt.Sprintf("%d more ids (later checkpoints, variants, quantized releases) resolve to these configs: ersatz models --aliases.", len(model.Default().Aliases())))
	}
	return t.WriteText(e.stdout)
}

func billions(v float64) string {
	if v >= 1e12 {
		return fmt.Sprintf("%.3gT", v/1e12)
	}
	return fmt.Sprintf("%.3gB", v/1e9)
}

func attention(m *model.Model) string {
	s := fmt.Sprintf("GQA %d/%d", m.Heads, m.KVHeads)
	if m.KVHeads == m.Heads {
		s = fmt.Sprintf("MHA %d", m.Heads)
	}
	if m.MLA() {
		s = fmt.Sprintf("MLA %d, latent %d+%d", m.Heads, m.KVLoraRank, m.QKRopeHeadDim)
	}
	if m.SlidingLayers > 0 {
		s += fmt.Sprintf(", %d sliding (%d)", m.SlidingLayers, m.SlidingWindow)
	}
	if m.Sparse() {
		s += fmt.Sprintf(", sparse top-%d", m.IndexTopK)
	}
	return s
}

func experts(m *model.Model) string {
	if !m.MoE() {
		return "dense"
	}
	s := fmt.Sprintf("%d top-%d", m.Experts, m.ExpertsPerToken)
	if m.SharedExperts > 0 {
		s += fmt.Sprintf(" +%d shared", m.SharedExperts)
	}
	return s
}

type modelView struct {
	*model.Model
	ParamsTotal     float64            `json:"params_total"`
	ParamsActive    float64            `json:"params_active"`
	WeightBytes     map[string]float64 `json:"weight_bytes"`
	KVBytesPerToken map[string]float64 `json:"kv_bytes_per_token"`
	DecodeFLOPs     model.FLOPs        `json:"decode_flops_per_token_at_4096"`
	PrefillFLOPs    model.FLOPs        `json:"prefill_flops_per_4096_tokens"`
}

func newModelView(m *model.Model) modelView {
	total, active := m.Params()
	v := modelView{Model: m, ParamsTotal: total, ParamsActive: active,
		WeightBytes: map[string]float64{}, KVBytesPerToken: map[string]float64{},
		DecodeFLOPs: m.DecodeFLOPs(4096), PrefillFLOPs: m.PrefillFLOPs(4096)}
	for _, p := range []hardware.Precision{hardware.BF16, hardware.FP8, hardware.INT4} {
		v.WeightBytes[string(p)] = m.WeightBytes(p)
	}
	for _, p := range []hardware.Precision{hardware.BF16, hardware.FP8} {
		v.KVBytesPerToken[string(p)] = m.KVBytesPerToken(p)
	}
	return v
}
