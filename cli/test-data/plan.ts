/**
 * What a run will create, decided up front from the seed so the same seed gives the same people
 * and conversations: each client has a main concern and a usual persona; every client gets a
 * first session before anyone gets a second, and later sessions are follow-ups that open with
 * how the week went. Most sessions are with the client's usual persona and about their concern.
 */
import { THEMES, conversation, type Conversation, type Theme } from './conversations';
import { makePerson, type Person } from './people';
import { Random } from './random';

export const SOURCE = 'smart-steps generate-test-data';
const DURATIONS = [30, 45, 45, 50, 60];

export interface PlannedClient extends Person {
  concern: Theme;
  persona_id: string;
  metadata: Record<string, unknown>;
}

export interface PlannedSession extends Conversation {
  clientIndex: number;
  persona_id: string;
  duration_minutes: number;
  followUp: boolean;
}

export interface Plan {
  run: string;
  seed: number;
  clients: PlannedClient[];
  sessions: PlannedSession[];
}

export interface PlanInput {
  run: string;
  seed: number;
  clients: number;
  sessions: number;
  turns: { min: number; max: number };
  /** The personas to spread sessions over. */
  personas: string[];
}

export function planRun(input: PlanInput): Plan {
  const rng = new Random(input.seed);
  const personas = rng.shuffle([...input.personas].sort());
  const clients: PlannedClient[] = [];
  for (let i = 0; i < input.clients; i++) {
    const concern = rng.pick(THEMES);
    clients.push({
      ...makePerson(rng, input.run, i),
      concern,
      // Round the shuffled list, so clients spread evenly over the personas.
      persona_id: personas[i % personas.length]!,
      metadata: { source: SOURCE, run: input.run, concern },
    });
  }
  const seen = new Array<number>(clients.length).fill(0);
  const sessions: PlannedSession[] = [];
  for (let i = 0; i < input.sessions; i++) {
    const clientIndex = i < clients.length ? i : rng.int(0, clients.length - 1);
    const client = clients[clientIndex]!;
    const followUp = seen[clientIndex]! > 0;
    seen[clientIndex]!++;
    // A first session is about what brought them; later ones sometimes turn to something else.
    const theme = !followUp || rng.chance(0.75) ? client.concern : rng.pick(THEMES);
    const persona_id =
      personas.length > 1 && rng.chance(0.2) ? rng.pick(personas) : client.persona_id;
    const turns = rng.int(input.turns.min, input.turns.max);
    sessions.push({
      ...conversation(rng, theme, turns, followUp),
      clientIndex,
      persona_id,
      duration_minutes: rng.pick(DURATIONS),
      followUp,
    });
  }
  return { run: input.run, seed: input.seed, clients, sessions };
}
