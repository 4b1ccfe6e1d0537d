// Command ferretdb-sqlite runs FerretDB v1 (MongoDB wire protocol) on its SQLite backend.
//
// Why a wrapper instead of `go install .../cmd/ferretdb`: the release's cmd panics at start
// because build/version/version.txt is generated at release time and is not in the module zip.
// The embeddable package does not read that file when it is not the main module.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

// version is what `--version` prints; the provisioning script compares it with the pinned one.
const version = "v1.24.2"

func main() {
	listen := flag.String("listen-addr", envOr("FERRETDB_LISTEN_ADDR", "127.0.0.1:27017"), "TCP address to listen on")
	sqliteURL := flag.String("sqlite-url", envOr("FERRETDB_SQLITE_URL", "file:data/"), "SQLite directory URI (trailing slash)")
	logLevel := flag.String("log-level", envOr("FERRETDB_LOG_LEVEL", "warn"), "debug, info, warn or error")
	showVersion := flag.Bool("version", false, "print the FerretDB version and exit")
	// Accepted so one command line serves both this wrapper and an official ferretdb binary on PATH.
	handler := flag.String("handler", "sqlite", "backend handler; only sqlite is built in")
	_ = flag.String("state-dir", "", "ignored: the embedded library keeps no state file")
	_ = flag.String("telemetry", "disable", "ignored: telemetry is always disabled")
	_ = flag.String("debug-addr", "-", "ignored: no debug listener")
	flag.Parse()

	if *showVersion {
		fmt.Println("ferretdb-sqlite", version)
		return
	}

	if *handler != "sqlite" {
		fmt.Fprintln(os.Stderr, "ferretdb: only --handler=sqlite is built in")
		os.Exit(2)
	}

	if err := ensureDir(*sqliteURL); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb: invalid --log-level:", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// FerretDB itself listens on a private socket; clients reach it through the relay
	// (atomic.go), which makes each update of a document atomic as on MongoDB.
	private, err := os.MkdirTemp("", "ferretdb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(private)
	socket := filepath.Join(private, "ferretdb.sock")
	public, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Warn("ferretdb listening", "addr", *listen, "sqlite", *sqliteURL)
	go keepIDIndexes(ctx, sqliteDir(*sqliteURL), logger)
	go func() {
		<-ctx.Done()
		public.Close()
	}()
	go func() {
		// FerretDB opens its socket just after start; a client that came first waits for it.
		dial := func() (conn net.Conn, err error) {
			for range 100 {
				if conn, err = net.Dial("unix", socket); err == nil || ctx.Err() != nil {
					return conn, err
				}
				time.Sleep(100 * time.Millisecond)
			}
			return nil, err
		}
		if err := relay(public, dial, logger); err != nil {
			logger.Error("relay stopped", "error", err)
			stop()
		}
	}()
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.RemoveAll(private)
		os.Exit(1)
	}
}

// FerretDB v1 indexes a collection's `_id` on the expression `_ferretdb_sjson->"_id"` but
// filters by `_ferretdb_sjson->'$._id'`. SQLite uses an index on an expression only for the same
// expression as written, so every lookup, update and delete by `_id` read the whole table: 16 ms
// per lookup at 5,000 sessions, growing with every one booked. This adds, beside each
// collection's own index, one on the expression FerretDB's filters use (1.1 ms at 5,000). FerretDB
// does not list it, and drops it with its table. Collections are created at any time, so the
// directory is swept every couple of seconds; a sweep that finds every index in place writes
// nothing.
const idIndexSweep = 2 * time.Second

func keepIDIndexes(ctx context.Context, dir string, logger *slog.Logger) {
	ticker := time.NewTicker(idIndexSweep)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if err := indexIDs(ctx, file, logger); err != nil && ctx.Err() == nil {
				logger.Debug("_id lookup index", "file", file, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func indexIDs(ctx context.Context, file string, logger *slog.Logger) error {
	// A connection per sweep: a database FerretDB drops is a file it deletes, which a held
	// connection would keep alive. FerretDB's own writes come first: wait for its lock.
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (
			SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '__id_path'
		)`)
	if err != nil {
		return err // not (yet) a FerretDB database
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		q := quoteIdent(t)
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (_ferretdb_sjson->'$._id')`, quoteIdent(t+"__id_path"), q)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", t, err) // e.g. dropped meanwhile; the next sweep sees
		}
		logger.Debug("_id lookup index added", "file", filepath.Base(file), "table", t)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sqlitePath is the path of a `file:<dir>/?<params>` SQLite URL, trailing slash kept.
func sqlitePath(uri string) string {
	p := strings.TrimPrefix(uri, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// sqliteDir is the directory of a `file:<dir>/` SQLite URL.
func sqliteDir(uri string) string { return filepath.Clean(sqlitePath(uri)) }

// ensureDir creates the SQLite directory: FerretDB requires it to exist.
func ensureDir(uri string) error {
	p := sqlitePath(uri)
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("--sqlite-url must end with a slash (a directory): %s", uri)
	}
	return os.MkdirAll(sqliteDir(uri), 0o700)
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
