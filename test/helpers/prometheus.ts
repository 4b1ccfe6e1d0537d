/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), as a scraper reads
 * it: throws naming the first line it would reject, so a test proves the text parses rather than
 * that it contains a substring.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** As Prometheus reads values (Go's ParseFloat): Inf and NaN in any case (prom-client writes `Nan`). */
const VALUE = /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?|nan)$/i;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheus(text: string): Sample[] {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  /** Families whose samples have ended: one family's lines must form one group. */
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, line: number) => {
    if (family === current) return;
    if (closed.has(family)) fail(line, `samples of ${family} are not in one group`);
    if (current) closed.add(current);
    current = family;
  };

  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(raw);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string?];
      if (!NAME.test(name)) fail(line, `bad metric name ${name}`);
      if (kind === 'HELP') {
        if (helps.has(name)) fail(line, `second HELP for ${name}`);
        helps.add(name);
      } else {
        if (!TYPES.has(rest.trim())) fail(line, `unknown type ${rest}`);
        if (types.has(name)) fail(line, `second TYPE for ${name}`);
        if (samples.some((s) => familyOf(s.name, types) === name))
          fail(line, `TYPE for ${name} after its samples`);
        types.set(name, rest.trim());
      }
      enter(name, line);
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(raw);
    if (!m) fail(line, `not a sample: ${raw}`);
    const [, name, labelText, valueText] = m as unknown as [
      string,
      string,
      string | undefined,
      string,
    ];
    if (!VALUE.test(valueText)) fail(line, `bad value ${valueText}`);
    const labels = parseLabels(labelText ?? '', line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(line, `duplicate sample ${name}`);
    seen.add(key);
    const family = familyOf(name, types);
    enter(family, line);
    if (types.get(family) === 'histogram' && name.endsWith('_bucket') && !('le' in labels))
      fail(line, `histogram bucket without le`);
    samples.push({ name, labels, value: parseValue(valueText) });
  });
  return samples;
}

/** The value of the sample named `name` whose labels include `labels`; undefined when absent. */
export function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

/** Fetches and parses a `/metrics` endpoint. */
export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain'))
    throw new Error(`${url} is not text/plain: ${res.headers.get('content-type')}`);
  return parsePrometheus(await res.text());
}

function parseValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && ['histogram', 'summary'].includes(types.get(base) ?? ''))
      return base;
  }
  return name;
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text.trim();
  while (rest) {
    const m = /^([^=\s]+)\s*=\s*"((?:[^"\\\n]|\\["\\n])*)"\s*(,\s*|$)/.exec(rest);
    if (!m) fail(line, `bad labels: {${text}}`);
    const [whole, name, value] = m as unknown as [string, string, string];
    if (!LABEL_NAME.test(name)) fail(line, `bad label name ${name}`);
    if (name in labels) fail(line, `label ${name} twice`);
    labels[name] = value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

function fail(line: number, why: string): never {
  throw new Error(`line ${line}: ${why}`);
}
