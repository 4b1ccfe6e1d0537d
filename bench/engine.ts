/**
 * The local persona engine's own cost, without a stack: reading one client message as a reply
 * does (with 12 earlier turns as context), and analysing a whole session at the end, on
 * transcripts of 20, 200 and 1,000 messages. For before/after comparisons of engine changes
 * (bench/changes.md): run it on both versions, on a quiet machine.
 *
 *   npx tsx bench/engine.ts [--rounds 5]
 */
import { parseArgs } from 'node:util';
import { createLocalEngine } from '../personas/engine/local';
import { readClient } from '../personas/engine/reading';
import { loadPersonaDefinitions } from '../personas/registry';

const LINES = [
  'I feel anxious and overwhelmed at work, my boss keeps adding deadlines.',
  'Honestly I slept badly again, maybe a 4 out of 10, and I was exhausted all day.',
  'I tried the breathing exercise before the meeting and it helped a bit.',
  'I am not sure it will ever get better, everyone probably thinks I am useless.',
  'Talked to a friend on Sunday, which was nice, I felt calmer afterwards.',
  'The money worries are constant and I keep checking my bank account every night.',
];

const transcript = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `m_${i}`,
    sender_type: i % 2 === 0 ? ('client' as const) : ('persona' as const),
    content: i % 2 === 0 ? LINES[(i / 2) % LINES.length]! : 'What do you notice about that?',
  }));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
  const rounds = Number(values.rounds);
  const engine = createLocalEngine();
  const persona = loadPersonaDefinitions().find((p) => p.persona_id === 'dr_morgan_hayes')!;

  const earlier = LINES.concat(LINES);
  const reads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < 200; i++) readClient(LINES[i % LINES.length]!, earlier);
    reads.push(((performance.now() - t) * 1000) / 200);
  }
  process.stdout.write(`read one message with 12 earlier turns: ${median(reads).toFixed(0)} µs\n`);

  for (const n of [20, 200, 1000]) {
    const input = {
      session_id: 's_bench',
      persona,
      goals: ['Manage work stress'],
      transcript: transcript(n),
    };
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t = performance.now();
      await engine.analyze(input);
      times.push(performance.now() - t);
    }
    process.stdout.write(`analyse a ${n}-message session: ${median(times).toFixed(1)} ms\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
