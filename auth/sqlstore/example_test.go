package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"

	_ "modernc.org/sqlite"

	"github.com/m365kit/m365kit/auth"
	"github.com/m365kit/m365kit/auth/sqlstore"
)

// ExampleNew keeps sealed token caches in an SQLite database.
func ExampleNew() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:example?mode=memory&cache=shared")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	sealed, err := auth.Sealed(store, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		log.Fatal(err)
	}
	// Version 0: save whatever is stored (as a sign-in does).
	_ = sealed.Save(ctx, "oid.tid", []byte("token cache"), 0)
	v, version, _ := sealed.Load(ctx, "oid.tid")
	fmt.Printf("%s\n", v)
	// A version from Load: save only if nobody saved since (as a refresh does).
	fmt.Println(sealed.Save(ctx, "oid.tid", []byte("refreshed"), version))
	err = sealed.Save(ctx, "oid.tid", []byte("stale"), version)
	fmt.Println(errors.Is(err, auth.ErrConflict))

	_ = sealed.Delete(ctx, "oid.tid")
	_, _, err = sealed.Load(ctx, "oid.tid")
	fmt.Println(errors.Is(err, auth.ErrNoToken))
	// Output:
	// token cache
	// <nil>
	// true
	// true
}
