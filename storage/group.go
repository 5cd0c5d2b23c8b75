package storage

import "context"

// A Unit is one unit of work of a group committed by [Store.InGroup]. It
// keeps every promise of a unit of work run alone by [Store.InTx]: what it
// writes commits together or not at all, whatever the other units of its
// group do.
type Unit struct {
	// Fence, if set, runs first, inside the unit: a precondition of its
	// writes, such as Tx.CheckLease for the instance the unit acts for. Its
	// error fails this unit alone, with nothing of it kept.
	Fence func(tx Tx) error
	// Fn writes the unit, through tx only, as InTx's fn does.
	Fn func(tx Tx) error
	// Instance, if set, is the instance the unit acts for. A store may
	// read and lock its row (and its open episode) for the whole group
	// before any unit runs, so that the unit's Tx.Instance, UpdateInstance,
	// OpenEpisode and PutEpisode for it need no round trip of their own.
	// It changes what the unit can observe in no way: the row is locked
	// as Tx.Instance would lock it, only earlier.
	Instance string
}

// Run runs u's fence, then its writes, in tx. Store implementations call
// it for each unit of a group.
func (u Unit) Run(tx Tx) error {
	if u.Fence != nil {
		if err := u.Fence(tx); err != nil {
			return err
		}
	}
	return u.Fn(tx)
}

// Grouper commits many units of work together; Store has it. See
// Store.InGroup.
type Grouper interface {
	// InGroup runs each of units as its own unit of work and commits them
	// together, in as few transactions as it can: one for the whole group
	// when every unit succeeds. It returns one error per unit, in order;
	// nil means that unit committed. A unit that fails (its Fence or its
	// Fn returns an error, or its transaction does not commit) keeps
	// nothing it wrote and never drops the others: they commit without
	// it. A panic in a unit propagates, as from InTx.
	//
	// A unit's Fence and Fn may run more than once (a store may run the
	// group again around a unit that failed); only the writes of the run
	// that commits are kept, so they must have no effect outside tx that
	// a second run would repeat. Units run in the order given, so two
	// units of one instance apply in that order.
	InGroup(ctx context.Context, units []Unit) []error
}

// RunGroup commits units as InGroup describes, through together (a
// transaction for units, which it is given to prepare for) and alone (a
// store's plain InTx, for one): all of them in one transaction; when one
// of them fails, the units before it in one transaction again, the failed
// one alone (it may have failed only because of the others: a deadlock, a
// conflict, or a write together made for all of them), and the units
// after it as a group of their own. When the commit itself fails, each
// unit runs alone. A group of one runs through together too: whatever
// fails there is its own. A panic in a unit propagates, as from InTx, with
// nothing of the group kept.
func RunGroup(ctx context.Context, together GroupTxFunc, alone TxFunc, units []Unit) []error {
	errs := make([]error, len(units))
	runGroup(ctx, together, alone, units, errs)
	return errs
}

// TxFunc runs fn in one transaction, as Store.InTx does.
type TxFunc func(ctx context.Context, fn func(tx Tx) error) error

// GroupTxFunc runs fn, which runs units, in one transaction, as Store.InTx
// does. It may use what units say of themselves (Unit.Instance) to
// prepare the transaction.
type GroupTxFunc func(ctx context.Context, units []Unit, fn func(tx Tx) error) error

// Together makes a GroupTxFunc of a TxFunc that needs no preparation.
func Together(inTx TxFunc) GroupTxFunc {
	return func(ctx context.Context, _ []Unit, fn func(tx Tx) error) error { return inTx(ctx, fn) }
}

func runGroup(ctx context.Context, together GroupTxFunc, alone TxFunc, units []Unit, errs []error) {
	switch len(units) {
	case 0:
		return
	case 1:
		errs[0] = together(ctx, units, units[0].Run)
		return
	}
	failed := -1
	err := together(ctx, units, func(tx Tx) error {
		for i, u := range units {
			if err := u.Run(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		clear(errs)
	case failed < 0:
		for i, u := range units {
			errs[i] = alone(ctx, u.Run)
		}
	default:
		runGroup(ctx, together, alone, units[:failed], errs[:failed])
		errs[failed] = alone(ctx, units[failed].Run)
		runGroup(ctx, together, alone, units[failed+1:], errs[failed+1:])
	}
}
