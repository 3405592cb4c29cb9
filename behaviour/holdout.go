package behaviour

import (
	"crypto/sha256"
	"encoding/binary"
)

// InHoldout tells whether a user is in the project's holdout: sticky, since
// it depends only on a SHA-256 of project and user mapped to [0, 100).
func InHoldout(projectID, userID string, percent float64) bool {
	sum := sha256.Sum256([]byte(projectID + "\x00" + userID))
	u := binary.BigEndian.Uint64(sum[:8]) >> 11 // 53 bits, exact in a float64
	return float64(u)/(1<<53)*100 < percent
}
