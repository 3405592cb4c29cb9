package simulate

import (
	"bufio"
	"cmp"
	"encoding/json"
	"io"
	"iter"
	"slices"

	so "github.com/smartonboarding/smartonboard"
)

// UserLine is a user's line in JSONL: what POST /v1/identify takes.
type UserLine struct {
	UserID string            `json:"user_id"`
	Traits map[string]string `json:"traits"`
}

// WriteJSONL writes each user as one line of traits (a UserLine), then their
// events, one EventInput per line in time order: the format `smartonboard
// import` and POST /v1/import read. To stream, call it once per user.
func WriteJSONL(w io.Writer, users []User) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, u := range users {
		if err := enc.Encode(UserLine{u.ID, u.Traits}); err != nil {
			return err
		}
		for _, e := range u.Events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// Batches cuts the users' events into request bodies' worth for POST
// /v1/events, at most MaxEventsPerBatch each, keeping each user's order.
func Batches(users []User) iter.Seq[[]so.EventInput] {
	return func(yield func([]so.EventInput) bool) {
		var batch []so.EventInput
		for _, u := range users {
			for _, e := range u.Events {
				if batch = append(batch, e); len(batch) == so.MaxEventsPerBatch {
					if !yield(batch) {
						return
					}
					batch = nil
				}
			}
		}
		if len(batch) > 0 {
			yield(batch)
		}
	}
}

// OracleAUC is the AUC of the users' true probabilities against their outcomes (the
// best any model can do on them from what is known at their start); ties
// count half, and it is 0.5 when either class is empty.
func OracleAUC(users []User) float64 {
	scores := make([]float64, len(users))
	labels := make([]bool, len(users))
	for i, u := range users {
		scores[i], labels[i] = u.Probability, u.Completed
	}
	return AUC(scores, labels)
}

// AUC is the area under the ROC curve of scores against labels, by the
// rank-sum (Mann-Whitney) formula with tied scores given their mean rank, so
// that a model's AUC is computed the same way as the oracle's.
func AUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of the 1-based ranks i+1..j
		for _, k := range idx[i:j] {
			if labels[k] {
				pos++
				rankSum += mid
			}
		}
		i = j
	}
	neg = float64(len(idx)) - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}
