package fleet

import (
	"context"
	"errors"

	"database/sql"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// queue is River's client over either database, with the transaction
// type hidden behind *Tx. It is the only place that knows River is
// generic over the transaction.
type queue interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	migrate(ctx context.Context) error
	insertTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertManyTx(ctx context.Context, tx *Tx, params []river.InsertManyParams) error
	completeTx(ctx context.Context, tx *Tx, job *rivertype.JobRow) error
	cancelTx(ctx context.Context, tx *Tx, jobID int64) error
}

type riverQueue[TDriver riverdriver.Driver[TTx], TTx any] struct {
	driver TDriver
	client *river.Client[TTx]
	unwrap func(*Tx) TTx
}

func newQueue(db Database, cfg *river.Config) (queue, error) {
	if db.pg != nil {
		d := riverpgxv5.New(db.pg)
		c, err := river.NewClient(d, cfg)
		if err != nil {
			return nil, err
		}
		return &riverQueue[*riverpgxv5.Driver, pgx.Tx]{driver: d, client: c, unwrap: func(tx *Tx) pgx.Tx { return tx.pg }}, nil
	}
	d := riversqlite.New(db.sqlite)
	c, err := river.NewClient(d, cfg)
	if err != nil {
		return nil, err
	}
	return &riverQueue[*riversqlite.Driver, *sql.Tx]{driver: d, client: c, unwrap: func(tx *Tx) *sql.Tx { return tx.sql }}, nil
}

func (q *riverQueue[TDriver, TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *riverQueue[TDriver, TTx]) stop(ctx context.Context) error  { return q.client.Stop(ctx) }

func (q *riverQueue[TDriver, TTx]) migrate(ctx context.Context) error {
	m, err := rivermigrate.New(q.driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func (q *riverQueue[TDriver, TTx]) insertTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return q.client.InsertTx(ctx, q.unwrap(tx), args, opts)
}

func (q *riverQueue[TDriver, TTx]) insertManyTx(ctx context.Context, tx *Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	_, err := q.client.InsertManyTx(ctx, q.unwrap(tx), params)
	return err
}

// anyArgs lets completeTx complete a job of any kind.
type anyArgs struct{}

func (anyArgs) Kind() string { return "" }

func (q *riverQueue[TDriver, TTx]) completeTx(ctx context.Context, tx *Tx, job *rivertype.JobRow) error {
	_, err := river.JobCompleteTx[TDriver](ctx, q.unwrap(tx), &river.Job[anyArgs]{JobRow: job})
	return err
}

func (q *riverQueue[TDriver, TTx]) cancelTx(ctx context.Context, tx *Tx, jobID int64) error {
	_, err := q.client.JobCancelTx(ctx, q.unwrap(tx), jobID)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil
	}
	return err
}
