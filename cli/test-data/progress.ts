/**
 * Progress on stderr, so stdout keeps only the summary (or its JSON). At a terminal: one bar
 * redrawn in place with counts, elapsed time and an ETA; notes print above it. Elsewhere (CI
 * logs, a pipe): a plain line at every tenth of the way, so a log shows the pace without
 * thousands of lines.
 */
export interface ProgressOut {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const BAR_WIDTH = 24;
/** The bar's clock ticks this often, so elapsed time and the ETA move between completions. */
const REDRAW_MS = 1_000;

export class Progress {
  private label = '';
  private total = 0;
  private done = 0;
  private failed = 0;
  private startedAt = 0;
  private reportedTenth = 0;
  private reportedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private barShown = false;

  constructor(
    private readonly out: ProgressOut,
    private readonly now: () => number = Date.now,
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** Starts counting a new stage of `total` items. */
  phase(label: string, total: number): void {
    this.stop();
    this.label = label;
    this.total = total;
    this.done = 0;
    this.failed = 0;
    this.reportedTenth = 0;
    this.reportedAt = 0;
    this.startedAt = this.now();
    if (total === 0) return;
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref();
      this.draw();
    } else {
      this.out.write(`${label}: 0/${total}\n`);
    }
  }

  /** One item finished, well or not. */
  tick(ok = true): void {
    this.done++;
    if (!ok) this.failed++;
    if (this.tty) {
      this.draw();
      return;
    }
    const tenth = Math.floor((this.done * 10) / this.total);
    if (tenth > this.reportedTenth) {
      this.reportedTenth = tenth;
      this.reportedAt = this.done;
      this.out.write(`${this.line()}\n`);
    }
  }

  /** A line of its own (a warning, a rate-limit wait), above the bar at a terminal. */
  note(text: string): void {
    if (this.tty) {
      this.out.write(`\r\u001b[K${text}\n`);
      if (this.timer) this.draw();
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the stage; the bar's (or the log's) last line shows where it stopped. */
  stop(): void {
    if (!this.tty && this.total > 0 && this.done > 0 && this.done < this.total) {
      if (this.reportedAt !== this.done) this.out.write(`${this.line()}\n`);
      this.total = 0;
    }
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.barShown) {
      this.draw();
      this.out.write('\n');
      this.barShown = false;
    }
  }

  private draw(): void {
    const filled = this.total ? Math.round((this.done / this.total) * BAR_WIDTH) : BAR_WIDTH;
    const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
    let text = `${this.label} ${bar} ${this.line(false)}`;
    const columns = this.out.columns ?? 0;
    if (columns > 10 && text.length >= columns) text = text.slice(0, columns - 1);
    this.out.write(`\r\u001b[K${text}`);
    this.barShown = true;
  }

  /** "37/200 18% · 2 failed · 1m02s elapsed · ETA 4m39s" */
  private line(withLabel = true): string {
    const elapsed = this.now() - this.startedAt;
    const pct = this.total ? Math.floor((this.done * 100) / this.total) : 100;
    const parts = [`${this.done}/${this.total} ${pct}%`];
    if (this.failed) parts.push(`${this.failed} failed`);
    parts.push(`${formatDuration(elapsed)} elapsed`);
    if (this.done < this.total) parts.push(`ETA ${eta(elapsed, this.done, this.total)}`);
    return `${withLabel ? `${this.label}: ` : ''}${parts.join(' · ')}`;
  }
}

/** The rest at the pace so far (items finish in parallel, so the pace is the throughput). */
export function eta(elapsedMs: number, done: number, total: number): string {
  if (done === 0) return '…';
  return formatDuration((elapsedMs / done) * (total - done));
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
