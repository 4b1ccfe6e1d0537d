// Command ferretdb-sqlite runs FerretDB v1 (MongoDB wire protocol) on its SQLite backend.
//
// Why a wrapper instead of `go install .../cmd/ferretdb`: the release's cmd panics at start
// because build/version/version.txt is generated at release time and is not in the module zip.
// The embeddable package does not read that file when it is not the main module.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
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

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
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
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// ensureDir creates the SQLite directory: FerretDB requires it to exist.
func ensureDir(uri string) error {
	p := strings.TrimPrefix(uri, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("--sqlite-url must end with a slash (a directory): %s", uri)
	}
	return os.MkdirAll(filepath.Clean(p), 0o700)
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
