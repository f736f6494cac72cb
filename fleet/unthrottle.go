package fleet

import (
	"context"
	"errors"
	"time"
)

// unthrottleTx ends a throttled status whose wait is over, inside tx: the
// account goes back to connected (every resource synced once) or
// syncing. A sync job does this when it completes; a job that makes no
// sync round (a subscription created or renewed) calls it after it got
// through to Graph, or a throttle it met would show for ever.
func (f *Fleet) unthrottleTx(ctx context.Context, tx *Tx, accountID string) error {
	st, err := f.lockAccount(ctx, tx, accountID)
	if err != nil || st.Status != StatusThrottled || st.ThrottledUntil.After(time.Now()) {
		return ignoreUnknown(err)
	}
	all, err := roundsDone(ctx, tx, st.ID, st.resources())
	if err != nil {
		return err
	}
	to := StatusSyncing
	if all {
		to = StatusConnected
	}
	return f.setStatusTx(ctx, tx, st.ID, StatusChange{To: to})
}

// ignoreUnknown drops ErrUnknownAccount: a disconnected account is left
// alone.
func ignoreUnknown(err error) error {
	if errors.Is(err, ErrUnknownAccount) {
		return nil
	}
	return err
}
