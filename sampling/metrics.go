package sampling

// Stats is a snapshot of a sampler for metrics.jsonl: the latest Next call
// and the per-prompt statistics. Means over an empty set are 0.
type Stats struct {
	Kind             string
	Prompts          int     // pool size
	PromptsWithStats int     // prompts observed at least once
	Picked           int     // size of the latest Next
	PickedWeighted   int     // of which drawn by weight
	PickedWithStats  int     // of which observed before
	MeanVPSPicked    float64 // mean VPS of the picked prompts with statistics
	MeanPassPicked   float64 // mean latest pass rate of the picked prompts with statistics
	MeanVPS          float64 // mean VPS over prompts with statistics
	MeanTDS          float64 // mean TDS over prompts with statistics
	MeanPassRate     float64 // mean latest pass rate over prompts with statistics
	Epoch            uint64  // uniform cursor: epoch
	EpochOffset      int     // uniform cursor: position in the epoch
	// Refresh summarises the latest complete full refresh (VAS in
	// RefreshFull mode); nil otherwise, and then left out of JSON.
	Refresh *RefreshStats `json:",omitempty"`
}

// WeightedShare returns PickedWeighted/Picked, or 0 before any pick.
func (s Stats) WeightedShare() float64 {
	if s.Picked == 0 {
		return 0
	}
	return float64(s.PickedWeighted) / float64(s.Picked)
}

// Metrics returns the numbers under "sampling/…" keys for metrics.jsonl.
// It allocates a new map on each call.
func (s Stats) Metrics() map[string]float64 {
	return map[string]float64{
		"sampling/prompts":            float64(s.Prompts),
		"sampling/prompts_with_stats": float64(s.PromptsWithStats),
		"sampling/picked":             float64(s.Picked),
		"sampling/weighted_share":     s.WeightedShare(),
		"sampling/picked_with_stats":  float64(s.PickedWithStats),
		"sampling/mean_vps_picked":    s.MeanVPSPicked,
		"sampling/mean_pass_picked":   s.MeanPassPicked,
		"sampling/mean_vps":           s.MeanVPS,
		"sampling/mean_tds":           s.MeanTDS,
		"sampling/mean_pass_rate":     s.MeanPassRate,
		"sampling/epoch":              float64(s.Epoch),
		"sampling/epoch_offset":       float64(s.EpochOffset),
	}
}

// Stats returns the metrics of the latest Next and of the statistics. Cost
// O(pool).
func (v *VAS) Stats() Stats {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := Stats{
		Kind: KindVAS, Prompts: len(v.pool.ids), Picked: v.last.n, PickedWeighted: v.last.weighted,
		PickedWithStats: v.last.withStats, Epoch: v.cur.epoch, EpochOffset: v.cur.offset, Refresh: v.rf.stats(),
	}
	if n := float64(v.last.withStats); n > 0 {
		s.MeanVPSPicked, s.MeanPassPicked = v.last.vpsSum/n, v.last.passSum/n
	}
	for i := range v.stats {
		if st := &v.stats[i]; st.TimesSeen > 0 {
			s.PromptsWithStats++
			s.MeanVPS += st.VPS
			s.MeanTDS += st.TDS
			s.MeanPassRate += st.PassRate
		}
	}
	if n := float64(s.PromptsWithStats); n > 0 {
		s.MeanVPS, s.MeanTDS, s.MeanPassRate = s.MeanVPS/n, s.MeanTDS/n, s.MeanPassRate/n
	}
	return s
}
