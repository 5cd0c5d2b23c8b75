// Package rollout moves a new policy module onto a growing share of the
// instances, measures its outage episodes against those of the stable
// policy, and promotes it or rolls it back without an operator watching.
//
// stats.go holds the tests (Mann–Whitney U, proportions), judge.go the
// pure judgement of one step, outcomes.go the per-policy summaries and
// controller.go the state machine that keeps its state in the store.
package rollout
