import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createLocalEngine,
  defaultDefinitionsDir,
  loadPersonaDefinitions,
  PersonaDefinitionError,
  PersonaRegistry,
  toPersonaSummary,
  type Persona,
  type ReplyContext,
  type Turn,
} from '../personas';

const registry = new PersonaRegistry(loadPersonaDefinitions());
const persona = (id: string): Persona => {
  const found = registry.get(id);
  if (!found) throw new Error(`persona ${id} is not shipped`);
  return found;
};

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'smartsteps-personas-'));
}

/** A shipped definition, edited and written to a scratch directory. */
function writeVariant(dir: string, file: string, edit: (text: string) => string): string {
  const source = readFileSync(path.join(defaultDefinitionsDir(), 'dr_morgan_hayes.yaml'), 'utf8');
  const target = path.join(dir, file);
  writeFileSync(target, edit(source));
  return target;
}

function loadError(dir: string): PersonaDefinitionError {
  try {
    loadPersonaDefinitions(dir);
  } catch (err) {
    if (err instanceof PersonaDefinitionError) return err;
    throw err;
  }
  throw new Error('expected the definitions to be rejected');
}

describe('persona definitions', () => {
  it('ships the CBT therapist, behavioral analyst, counselor and MI personas, all valid', () => {
    expect(registry.list().map((p) => p.persona_id)).toEqual([
      'dr_alex_rivera',
      'dr_jordan_lee',
      'dr_morgan_hayes',
      'sam_taylor',
    ]);
    for (const p of registry.list()) {
      expect(p.version).toBeGreaterThanOrEqual(1);
      expect(p.techniques.length).toBeGreaterThan(0);
      expect(p.background.length).toBeGreaterThan(50);
    }
  });

  it('describes Dr. Morgan Hayes exactly as the API reference does', () => {
    const p = persona('dr_morgan_hayes');
    expect(p).toMatchObject({
      persona_id: 'dr_morgan_hayes',
      name: 'Dr. Morgan Hayes',
      type: 'therapist',
      specialization: 'cognitive_behavioral',
      description: 'Cognitive Behavioral Therapist specializing in anxiety and depression',
      techniques: [
        'cognitive restructuring',
        'behavioral activation',
        'mindfulness',
        'graded exposure',
      ],
      suitable_for: ['anxiety', 'depression', 'stress management', 'phobias'],
      avatar_url: 'https://example.com/avatars/dr_morgan_hayes.png',
      voice_settings: { pitch: 'medium', rate: 'medium', style: 'professional' },
      communication_style: { formality: 0.7, directiveness: 0.6, warmth: 0.8, complexity: 0.5 },
    });
  });

  it('lists Dr. Alex Rivera with the summary fields of the API reference', () => {
    expect(toPersonaSummary(persona('dr_alex_rivera'))).toEqual({
      persona_id: 'dr_alex_rivera',
      name: 'Dr. Alex Rivera',
      type: 'analyst',
      specialization: 'behavioral',
      description: 'Behavioral Analyst focusing on observable behaviors and reinforcement patterns',
    });
  });

  it('rejects a broken file with one line naming the file and the field', () => {
    const dir = tempDir();
    const file = writeVariant(dir, 'dr_morgan_hayes.yaml', (t) =>
      t.replace('warmth: 0.8', 'warmth: 1.8'),
    );
    const err = loadError(dir);
    expect(err.file).toBe(file);
    expect(err.message).toContain('dr_morgan_hayes.yaml: communication_style.warmth:');
    expect(err.message).toMatch(/must be between 0 and 1$/);
    expect(err.message).not.toContain('\n');
  });

  it('names a missing field, an unknown field and an invalid type', () => {
    const missing = tempDir();
    const { approach: _approach, ...withoutApproach } = persona('dr_morgan_hayes');
    writeFileSync(path.join(missing, 'dr_morgan_hayes.json'), JSON.stringify(withoutApproach));
    expect(loadError(missing).message).toMatch(/dr_morgan_hayes\.json: approach: is required$/);

    const unknown = tempDir();
    writeVariant(unknown, 'dr_morgan_hayes.yaml', (t) => `${t}voice_setting: {}\n`);
    expect(loadError(unknown).message).toMatch(/voice_setting: unknown field$/);

    const badType = tempDir();
    writeVariant(badType, 'dr_morgan_hayes.yaml', (t) =>
      t.replace('type: therapist', 'type: coach'),
    );
    expect(loadError(badType).message).toMatch(
      /type: must be one of therapist, analyst, counselor$/,
    );
  });

  it('rejects a persona_id that differs from its file name, and a duplicate persona_id', () => {
    const renamed = tempDir();
    writeVariant(renamed, 'dr_someone_else.yaml', (t) => t);
    expect(loadError(renamed).message).toMatch(
      /dr_someone_else\.yaml: persona_id: "dr_morgan_hayes" must match the file name/,
    );

    const twice = tempDir();
    writeVariant(twice, 'dr_morgan_hayes.yaml', (t) => t);
    writeFileSync(
      path.join(twice, 'dr_morgan_hayes.json'),
      JSON.stringify(persona('dr_morgan_hayes')),
    );
    expect(loadError(twice).message).toMatch(/persona_id: "dr_morgan_hayes" is already defined/);
  });

  it('reports YAML that cannot be parsed', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.yaml'), 'name: [unclosed\n');
    expect(loadError(dir).message).toMatch(/broken\.yaml: cannot parse: /);
  });
});

describe('local persona engine', () => {
  const engine = createLocalEngine();
  const goals = ['Reduce anxiety at work', 'Sleep better'];
  const ctx = (overrides: Partial<ReplyContext> & { say?: string }): ReplyContext => {
    const { say, ...rest } = overrides;
    const recent_turns: Turn[] = say ? [{ sender_type: 'client', content: say }] : [];
    return {
      session_id: 's_test123',
      persona: persona('dr_morgan_hayes'),
      goals,
      kind: 'response',
      persona_turn: 1,
      recent_turns,
      wrap_up: false,
      ...rest,
    };
  };

  it('gives the same reply to the same context', async () => {
    const c = ctx({ say: 'I feel anxious and overwhelmed at work' });
    expect(await engine.reply(c)).toEqual(await engine.reply(c));
  });

  it('opens by naming the session goals, without claiming to be human', async () => {
    for (const p of registry.list()) {
      const reply = await engine.reply(ctx({ kind: 'opening', persona: p, persona_turn: 0 }));
      expect(reply.content).toContain('reduce anxiety at work');
      expect(reply.content).toContain(p.name);
      expect(reply.content).toMatch(/\bAI\b/);
      expect(reply.metadata).toMatchObject({ move: 'opening' });
    }
  });

  it('reflects anxiety and explores it Socratically as the CBT therapist', async () => {
    // Turn 2: past the agenda, exploring. (The first reply sets the agenda; see the golden tests.)
    const reply = await engine.reply(
      ctx({ say: 'I feel anxious and overwhelmed at work', persona_turn: 2 }),
    );
    expect(reply.content).toMatch(/anxious and overwhelmed at work/);
    expect(reply.metadata).toMatchObject({
      phase: 'exploration',
      move: 'socratic_question',
      emotions: ['anxious', 'overwhelmed'],
      topics: ['work'],
    });
  });

  it('does not treat "not anxious anymore" as anxiety', async () => {
    const reply = await engine.reply(ctx({ say: "I'm not anxious anymore" }));
    expect(reply.metadata?.emotions).not.toContain('anxious');
    expect(reply.content).not.toMatch(/feeling anxious/);
    expect(reply.content).toMatch(/better/);
  });

  it('never repeats the same reply on two consecutive persona turns', async () => {
    for (const p of registry.list()) {
      for (let turn = 0; turn < 6; turn++) {
        const a = await engine.reply(ctx({ persona: p, persona_turn: turn, say: 'I see.' }));
        const b = await engine.reply(ctx({ persona: p, persona_turn: turn + 1, say: 'I see.' }));
        expect(b.content).not.toBe(a.content);
      }
    }
  });

  it("makes a move that fits each persona's approach", async () => {
    const moves: Record<string, unknown> = {};
    for (const p of registry.list()) {
      const reply = await engine.reply(
        ctx({ persona: p, say: 'Work has been stressful.', persona_turn: 2 }),
      );
      moves[p.persona_id] = reply.metadata?.move;
    }
    expect(moves).toEqual({
      dr_alex_rivera: 'functional_analysis',
      dr_jordan_lee: 'evoke_change_talk',
      dr_morgan_hayes: 'socratic_question',
      sam_taylor: 'reflection',
    });
  });

  it('lets communication style shape the wording', async () => {
    const say = 'I feel anxious and overwhelmed at work';
    const formal = await engine.reply(ctx({ persona: persona('dr_alex_rivera'), say }));
    const informal = await engine.reply(ctx({ persona: persona('sam_taylor'), say }));
    expect(formal.content).not.toMatch(/\b\w+'(re|m|s|ll|t)\b/);
    expect(informal.content).toMatch(/\b(you're|it's|I'm|let's|that's)\b/);
  });

  it('answers honestly when asked whether it is human', async () => {
    const reply = await engine.reply(ctx({ say: 'Are you a real person?' }));
    expect(reply.content).toContain('I am an AI persona, not a human therapist');
  });

  it('meets self-harm language with crisis signposting instead of a technique', async () => {
    const reply = await engine.reply(ctx({ say: 'Sometimes I think about ending my life' }));
    expect(reply.metadata).toMatchObject({
      move: 'safety',
      risk: { level: 'high', categories: ['suicide'] },
    });
    expect(reply.content).toMatch(/emergency/);
  });

  it('wraps up by recalling the goals and the time left', async () => {
    const reply = await engine.reply(
      ctx({
        kind: 'wrap_up',
        minutes_left: 5,
        recent_turns: [{ sender_type: 'client', content: 'I was stressed about the deadline' }],
      }),
    );
    expect(reply.content).toMatch(/about 5 minutes left/);
    expect(reply.content).toContain('reducing anxiety at work');
    expect(reply.content).toContain('stressed');
  });

  it('analyzes an anxious session: summary with goals, anxious mood, focus areas', async () => {
    const analysis = await engine.analyze({
      session_id: 's_test123',
      persona: persona('dr_morgan_hayes'),
      goals,
      transcript: [
        { sender_type: 'persona', content: 'Hello, it sounds like you are feeling hopeful.' },
        { sender_type: 'client', content: 'I feel anxious about my deadlines at work' },
        { sender_type: 'persona', content: 'What goes through your mind?' },
        { sender_type: 'client', content: 'I get so nervous in meetings, and tired' },
        { sender_type: 'client', content: 'Talking helps, I feel a bit better' },
      ],
    });
    expect(analysis.summary).toContain('3 messages');
    expect(analysis.summary).toContain('reduce anxiety at work');
    expect(analysis.mood_analysis.primary).toBe('anxious');
    expect(analysis.mood_analysis.confidence).toBeGreaterThan(0);
    expect(analysis.mood_analysis.confidence).toBeLessThanOrEqual(1);
    expect(analysis.insights.map((i) => i.type)).toEqual(
      expect.arrayContaining(['pattern', 'progress']),
    );
    for (const i of analysis.insights) expect(i.confidence).toBeLessThanOrEqual(1);
    expect(analysis.recommended_focus_areas[0]).toBe('Anxiety management techniques');
    expect(analysis.key_points.length).toBeGreaterThan(0);
  });

  it('reads a silent session as neutral', async () => {
    const analysis = await engine.analyze({
      session_id: 's_quiet',
      persona: persona('sam_taylor'),
      goals: [],
      transcript: [{ sender_type: 'persona', content: 'Hi, how are you feeling?' }],
    });
    expect(analysis.summary).toContain('0 messages');
    expect(analysis.mood_analysis).toEqual({
      primary: 'neutral',
      secondary: 'neutral',
      confidence: 0.3,
    });
    expect(analysis.insights).toEqual([]);
  });
});
