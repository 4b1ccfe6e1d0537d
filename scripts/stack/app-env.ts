/**
 * Environment for the app's own Node processes wherever the project launches them (`npm start`,
 * the benchmarks; docker-compose.yml sets the same).
 *
 * glibc gives threads that allocate at once malloc arenas of their own, up to 8 per core, and
 * keeps their freed memory. The Temporal SDK's Rust core and libuv run many threads: at 10,000
 * scheduled sessions the session worker carried about 50 MB of such slack (bench/changes.md).
 * Two arenas hold it down at no measurable cost. A value set by the operator wins.
 */
export const appProcessEnv = (): Record<string, string> => ({
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
});
