// Package analytics holds the pure logic of the analytics pipeline: what a
// journey counts for (its fact), how facts and events add up into rollup
// rows, and the reports summed from those rows. It reads and writes nothing;
// the consumer and the stores do.
//
// # Activity
//
// Every event counts once, by event time, in the row of its UTC hour: events
// (a count) and users (a HyperLogLog sketch of user ids, so distinct users of
// several rows are their union, within about 1%, exact for a few hundred).
// Recent events (at or after the consumer's minutesFrom, a few days back)
// also count in the row of their minute; minute rows are pruned after that,
// so "active users now" (the last 5 minutes) and short series use minute
// rows and everything else hour rows.
//
// # Journeys
//
// A journey counts in the cohort of the UTC hour it started (StartHour), in
// the row of its flow and version, whatever happened to it since, so a
// window's journeys are those that started in it. The consumer keeps each
// journey's latest fact and, when the journey changes, takes the old fact's
// contribution out of the rows and puts the new one's in (Tally.Replace):
// counts and histograms are sums of facts, so they can be subtracted.
//
//   - started: journeys (every fact counts 1);
//   - completed, abandoned: journeys with that status now; in progress is
//     started − completed − abandoned (active or paused);
//   - complete seconds: start to completion; value seconds (time to value):
//     the user's first event, or the start if earlier, to completion; both
//     only for completed journeys.
//
// # Steps
//
// Each fact has one step per step of its flow version, counted in the step
// row of the journey's cohort. For a step (a missing state is pending):
//
//   - completed, skipped: its status;
//   - started: it has a start time, is in progress, or is completed;
//   - reached: started, completed, skipped, or the journey's current step;
//   - dropped (drop-off): the journey is abandoned, and the step was reached
//     but neither completed nor skipped;
//   - in progress: reached − completed − skipped − dropped, so every reached
//     step is exactly one of the four (an optional step left open in a
//     completed journey is in progress);
//   - struggled: a struggle was detected on it;
//   - seconds: the time spent on it, once completed.
//
// Funnel rates (drop-off, struggle) are shares of the step's reached; a
// step's conversion from the previous one is its reached over the previous
// step's reached; a share of 0 journeys is null, not 0.
//
// # Histograms
//
// Times are kept in Histograms: logarithmic bins of 1% relative width, so a
// median or p90 is within 1% of a value at that rank, and a count below or
// above a bucket edge takes each value as its bin's representative. Unlike a
// DDSketch, a Histogram accepts negative counts, which is what subtracting
// a fact needs.
package analytics
