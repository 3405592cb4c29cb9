package simulate

import (
	"math/rand/v2"

	so "github.com/smartonboarding/smartonboard"
)

// Trait values an identify call may send.
var (
	plans        = []string{"free", "trial", "team", "enterprise"}
	experiences  = so.Experiences // the values the server accepts: none, some, expert
	companySizes = []string{"1-10", "11-50", "51-200", "201-1000", "1000+"}
	roles        = []string{"developer", "marketer", "manager", "founder", "designer", "analyst", "support"}
	// personaRoles are the roles a persona most often has.
	personaRoles = map[string][]string{
		"novice":           {"marketer", "support"},
		"hurried-business": {"manager", "founder"},
		"expert":           {"developer"},
		"explorer":         {"designer", "analyst"},
		"struggler":        {"support", "marketer"},
	}
)

// identify makes the user's traits: experience follows skill and plan
// follows motivation, both noisily; role hints at the persona; company size
// is pure noise. None of them sees the per-user luck.
func identify(rng *rand.Rand, persona string, t traits) map[string]string {
	return map[string]string{
		"plan":         bucket(plans, t.motivation+0.3*rng.NormFloat64(), 0.35, 0.6, 0.8),
		"experience":   bucket(experiences, t.skill+0.25*rng.NormFloat64(), 0.35, 0.7),
		"company_size": companySizes[rng.IntN(len(companySizes))],
		"role":         role(rng, persona),
	}
}

// bucket names the band x falls in, given the bands' upper bounds.
func bucket(names []string, x float64, bounds ...float64) string {
	for i, b := range bounds {
		if x < b {
			return names[i]
		}
	}
	return names[len(bounds)]
}

// role is usually one the persona has, otherwise any.
func role(rng *rand.Rand, persona string) string {
	if rs := personaRoles[persona]; len(rs) > 0 && chance(rng, 0.6) {
		return rs[rng.IntN(len(rs))]
	}
	return roles[rng.IntN(len(roles))]
}
