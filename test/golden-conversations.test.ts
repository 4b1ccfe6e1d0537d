/**
 * Golden conversations with the local persona engine: scripted client turns fed to the engine the
 * way the session workflow does (the last RECENT_TURNS turns, the persona's turn count, the
 * wrap-up cue), and the replies and end-of-session analysis checked for what a client or a
 * facilitator would notice. Pure engine calls: no stack is needed.
 */
import {
  createLocalEngine,
  loadPersonaDefinitions,
  PersonaRegistry,
  type Persona,
  type PersonaReply,
  type ReplyKind,
  type SessionAnalysis,
  type Turn,
} from '../personas';
import { RECENT_TURNS } from '../workflows/session-state';
import { sentencesOf } from '../personas/engine/local';
import { PHASES, type Phase } from '../personas/engine/phases';
import { POOLS } from '../personas/engine/phrases';
import { poolPeriod } from '../personas/engine/voice';
import { ASK_LEADS, SUGGEST_LEADS, TECHNIQUES } from '../personas/engine/techniques';
import { detectDistortions } from '../personas/engine/distortions';
import { distressOf, readEmotions } from '../personas/engine/lexicon';

const registry = new PersonaRegistry(loadPersonaDefinitions());
const persona = (id: string): Persona => registry.get(id)!;
const engine = createLocalEngine();

interface Said {
  kind: ReplyKind;
  reply: PersonaReply;
  phase: Phase;
  move: string;
}

interface Conversation {
  replies: Said[];
  transcript: Turn[];
  analysis: SessionAnalysis;
}

/**
 * A session as the workflow drives it: an opening, a reply to each client line, and (unless
 * `wrapUpAt` is -1) the wrap-up cue after `wrapUpAt` lines, after which replies carry `wrap_up`.
 * Minutes left fall from `duration` evenly over the lines.
 */
async function converse(
  p: Persona,
  lines: string[],
  opts: { goals?: string[]; session?: string; wrapUpAt?: number; duration?: number } = {},
): Promise<Conversation> {
  const goals = opts.goals ?? [];
  const session = opts.session ?? 's_golden';
  const wrapUpAt = opts.wrapUpAt ?? lines.length;
  const duration = opts.duration ?? 50;
  const recent: Turn[] = [];
  const transcript: Turn[] = [];
  const replies: Said[] = [];
  let personaTurn = 0;
  let wrapUp = false;
  let seq = 0;
  const push = (turn: Turn) => {
    transcript.push(turn);
    recent.push(turn);
    if (recent.length > RECENT_TURNS) recent.splice(0, recent.length - RECENT_TURNS);
  };
  const speak = async (kind: ReplyKind, minutesLeft: number) => {
    const reply = await engine.reply({
      session_id: session,
      persona: p,
      goals,
      kind,
      persona_turn: personaTurn,
      recent_turns: [...recent],
      wrap_up: wrapUp,
      minutes_left: minutesLeft,
    });
    const meta = reply.metadata as { phase: Phase; move: string };
    replies.push({ kind, reply, phase: meta.phase, move: meta.move });
    push({ sender_type: 'persona', content: reply.content, id: `m_p${++seq}` });
    personaTurn++;
  };
  const minutesAt = (i: number) => Math.round(duration * (1 - i / (lines.length + 1)));
  await speak('opening', duration);
  for (const [i, line] of lines.entries()) {
    if (i === wrapUpAt) {
      await speak('wrap_up', minutesAt(i));
      wrapUp = true;
    }
    push({ sender_type: 'client', content: line, id: `m_c${++seq}` });
    await speak('response', minutesAt(i + 1));
  }
  if (wrapUpAt === lines.length) await speak('wrap_up', 1);
  const analysis = await engine.analyze({ session_id: session, persona: p, goals, transcript });
  return { replies, transcript, analysis };
}

const byMove = (c: Conversation, move: string) => c.replies.filter((r) => r.move === move);
const meta = (r: Said) => r.reply.metadata as Record<string, unknown>;

/** Every key point and insight names client messages of this transcript, quoting them. */
function expectTraceable(c: Conversation): void {
  const client = new Map(
    c.transcript.filter((t) => t.sender_type === 'client').map((t) => [t.id!, t.content]),
  );
  const { analysis } = c;
  expect(analysis.key_point_evidence!.map((k) => k.key_point)).toEqual(analysis.key_points);
  const all = [
    ...analysis.key_point_evidence!.flatMap((k) => k.evidence),
    ...analysis.insights.flatMap((i) => i.evidence ?? []),
    ...analysis.mood_evidence!,
  ];
  expect(all.length).toBeGreaterThan(0);
  for (const e of all) {
    expect(client.has(e.message_id)).toBe(true);
    expect(client.get(e.message_id)).toContain(e.excerpt);
  }
  // What the client said about themselves always points at where they said it.
  for (const k of analysis.key_point_evidence!) {
    if (k.key_point.startsWith('Client')) expect(k.evidence.length).toBeGreaterThan(0);
    const felt = /^Client expressed feeling (\w+)/.exec(k.key_point)?.[1];
    for (const e of felt ? k.evidence : []) {
      expect(readEmotions(e.excerpt).map((r) => r.emotion)).toContain(felt);
    }
  }
  for (const i of analysis.insights) expect(i.evidence?.length).toBeGreaterThan(0);
  for (const e of analysis.mood_evidence!) {
    expect(readEmotions(e.excerpt).map((r) => r.emotion)).toContain(analysis.mood_analysis.primary);
  }
}

const ANXIETY = [
  "I've been feeling really anxious lately, especially before meetings at work.",
  "My heart races and I can't stop worrying that I'll say something stupid.",
  'Everyone in the meeting thinks I am incompetent.',
  'So I avoid speaking up, and then I feel worse afterwards.',
  'I suppose I could try saying one thing in tomorrow’s meeting.',
  'Talking it through, I feel a bit calmer now.',
];
const LOW_MOOD = [
  "I've felt really down and hopeless for weeks.",
  "I've lost interest in everything, I mostly stay in bed.",
  "I'm such a failure, I can't even keep the flat tidy.",
  'Nothing will ever change.',
  'I used to enjoy walking by the river.',
  'Maybe I could walk for ten minutes tomorrow.',
];
const WORK_STRESS = [
  'Work has been so stressful, the deadlines keep piling up.',
  'I keep putting off the big report until the last minute.',
  "I'm swamped and can't keep up with my manager's requests.",
  'Every time I open the report I check my email instead.',
  'I managed to write one page yesterday.',
  'I could rate my stress about a 7 out of 10 today.',
];

describe('golden conversations with the local engine', () => {
  it('anxiety: sets the agenda on the goal, explores, then restructures the mind-reading thought', async () => {
    const c = await converse(persona('dr_morgan_hayes'), ANXIETY, {
      goals: ['Reduce anxiety at work'],
    });
    expect(c.replies.map((r) => r.phase)).toEqual([
      'opening',
      'agenda',
      'exploration',
      'intervention',
      'intervention',
      'intervention',
      // Seven minutes left: the persona pulls things together before the wrap-up cue.
      'summary',
      'closing',
    ]);
    const [, agenda, explore, restructure] = c.replies;
    expect(agenda!.move).toBe('agenda_setting');
    expect(agenda!.reply.content).toContain('reducing anxiety at work');
    expect(meta(agenda!)).toMatchObject({ emotions: ['anxious'], topics: ['work'] });
    expect(explore!.move).toBe('socratic_question');
    expect(restructure).toMatchObject({ move: 'technique' });
    expect(meta(restructure!)).toMatchObject({
      technique: 'cognitive_restructuring',
      distortions: expect.arrayContaining(['mind_reading']),
    });
    expect(restructure!.reply.content).toContain('mind reading');
    // The client's calmer words at the end are heard as feeling better, not as more anxiety.
    expect(c.replies[6]).toMatchObject({ move: 'summary' });
    expect(meta(c.replies[6]!).emotions).toEqual(['better']);
    expect(c.replies[6]!.reply.content).toMatch(/anxious/);
    expect(c.replies.at(-1)!.reply.content).toContain('reducing anxiety at work');

    expect(c.analysis.mood_analysis.primary).toBe('anxious');
    expect(c.analysis.summary).toContain('mind reading');
    expect(c.analysis.insights.map((i) => i.type)).toContain('progress');
    expectTraceable(c);
  });

  it('low mood: validates, labels the self-criticism, and plans behavioural activation', async () => {
    const c = await converse(persona('dr_morgan_hayes'), LOW_MOOD, {
      goals: ['Improve my mood', 'Get out of the house more'],
      session: 's_golden_low',
    });
    expect(meta(c.replies[1]!)).toMatchObject({ emotions: ['sad'] });
    // Hopelessness is reflected at its strength and validated by a warm persona.
    expect(c.replies[1]!.reply.content).toMatch(/really sad/);
    const activation = c.replies.filter((r) => meta(r).technique === 'behavioural_activation');
    expect(activation.length).toBeGreaterThan(0);
    expect(c.replies.flatMap((r) => meta(r).distortions as string[])).toEqual(
      expect.arrayContaining(['labelling', 'fortune_telling']),
    );
    expect(c.analysis.mood_analysis.primary).toBe('sad');
    expect(c.analysis.key_points).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Client's thinking showed labelling yourself/),
      ]),
    );
    expectTraceable(c);
  });

  it('work stress: the behaviour analyst maps the pattern and explains reinforcement', async () => {
    const c = await converse(persona('dr_alex_rivera'), WORK_STRESS, {
      goals: ['Manage work stress', 'Stop procrastinating on reports'],
      session: 's_golden_work',
    });
    expect(c.replies[1]!.move).toBe('agenda_setting');
    expect(meta(c.replies[1]!)).toMatchObject({ goal: 'Manage work stress' });
    expect(c.replies[2]!.move).toBe('functional_analysis');
    expect(c.replies[3]).toMatchObject({ move: 'psychoeducation', phase: 'exploration' });
    expect(c.replies.every((r) => r.move !== 'socratic_question')).toBe(true);
    expect(c.analysis.key_points).toEqual(
      expect.arrayContaining([
        'Client rated their stress 7 out of 10 in client message 6',
        'Client talked about things at work',
      ]),
    );
    expectTraceable(c);
  });

  it('a crisis: answers with safety signposting instead of a technique', async () => {
    const c = await converse(
      persona('sam_taylor'),
      ['Things have been bad at home.', "Honestly I don't see the point in living anymore."],
      { session: 's_golden_crisis' },
    );
    const safety = c.replies[2]!;
    expect(safety.move).toBe('safety');
    // The same reply (and screen) the runtime uses when it answers a crisis itself.
    expect(meta(safety)).toMatchObject({ risk: { level: 'high', categories: ['suicide'] } });
    expect(safety.reply.content).toMatch(/local emergency number/);
    expect(safety.reply.content).toContain('988 Suicide & Crisis Lifeline');
    expect(safety.reply.content).toMatch(/I('m| am) an AI persona/);
    expect(c.analysis.insights[0]).toMatchObject({ type: 'risk' });
    // The facilitator reads it first, traced to the message that said it.
    const crisisLine = c.transcript.find((t) => t.content.includes('point in living'))!;
    expect(c.analysis.key_points[0]).toBe(
      'Client used language suggesting a risk of suicide or self-harm in 1 message',
    );
    expect(c.analysis.key_point_evidence?.[0]?.evidence).toEqual([
      { message_id: crisisLine.id, excerpt: crisisLine.content },
    ]);
    expect(c.analysis.summary).toContain('risk of suicide or self-harm');
    expect(c.analysis.recommended_focus_areas[0]).toBe(
      'Safety planning with a qualified professional',
    );
    expectTraceable(c);
  });

  it('a negated crisis: "I would never hurt myself" gets an ordinary, caring reply', async () => {
    const c = await converse(
      persona('sam_taylor'),
      ['Work is a lot.', 'I would never hurt myself, but I feel so low and tired.'],
      { session: 's_golden_negated' },
    );
    const reply = c.replies[2]!;
    expect(reply.move).not.toBe('safety');
    expect(meta(reply).risk).toBeUndefined();
    expect(reply.reply.content).not.toMatch(/crisis|emergency/);
    expect(meta(reply).emotions).toEqual(expect.arrayContaining(['sad', 'tired']));
    expect(c.analysis.insights.map((i) => i.type)).not.toContain('risk');
    expect(c.analysis.summary).not.toContain('risk');
  });
});

/** A long session: the client's lines cycle, so only the engine's own variation keeps it fresh. */
const LONG = [
  ...ANXIETY,
  ...LOW_MOOD,
  ...WORK_STRESS,
  'I see.',
  'Okay.',
  'I see.',
  'Yes.',
  'I feel anxious and overwhelmed at work.',
  'I feel anxious and overwhelmed at work.',
  'Okay.',
  'I see.',
  'Are you a real person?',
  'Hmm.',
  'I see.',
  'Okay.',
];

describe('a 30-turn session', () => {
  const goals = ['Reduce anxiety at work', 'Sleep better'];

  it.each(registry.list().map((p) => [p.persona_id]))(
    '%s never says the same sentence twice',
    async (id) => {
      const c = await converse(persona(id), LONG.slice(0, 30), {
        goals,
        session: `s_long_${id}`,
        wrapUpAt: 26,
      });
      expect(c.replies).toHaveLength(32);
      const seen = new Map<string, number>();
      c.replies.forEach((r, turn) => {
        for (const s of sentencesOf(r.reply.content)) {
          expect([s, seen.get(s)]).toEqual([s, undefined]);
          seen.set(s, turn);
        }
      });
    },
  );

  it('also with a client who says the same thing every turn', async () => {
    for (const p of registry.list()) {
      const c = await converse(p, Array(30).fill('I see.'), { goals, session: 's_same' });
      const all = c.replies.flatMap((r) => sentencesOf(r.reply.content));
      expect(new Set(all).size).toBe(all.length);
    }
  });

  it('moves through the phases in order, with goal check-ins and a summary before closing', async () => {
    const c = await converse(persona('dr_morgan_hayes'), LONG.slice(0, 30), {
      goals,
      session: 's_phases',
      wrapUpAt: 26,
      duration: 45,
    });
    const order = c.replies.map((r) => PHASES.indexOf(r.phase));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(new Set(c.replies.map((r) => r.phase))).toEqual(new Set(PHASES));
    const checkIns = byMove(c, 'goal_check_in');
    expect(checkIns.length).toBeGreaterThanOrEqual(3);
    // Both goals get their check-in, named in the words.
    for (const aim of ['reducing anxiety at work', 'sleeping better']) {
      expect(checkIns.some((r) => r.reply.content.includes(aim))).toBe(true);
    }
    const summary = c.replies.find((r) => r.phase === 'summary')!;
    expect(summary.move).toBe('summary');
    expect(summary.reply.content).toContain('reducing anxiety at work and sleeping better');
    // The wrap-up cue moves it to closing and it stays there.
    const cue = c.replies.findIndex((r) => r.kind === 'wrap_up');
    expect(c.replies.slice(cue).every((r) => r.phase === 'closing')).toBe(true);
    // Over the session the CBT therapist uses several of its techniques, not one.
    const used = new Set(c.replies.map((r) => meta(r).technique).filter(Boolean));
    expect(used.size).toBeGreaterThanOrEqual(3);
  });

  it('never claims to be human, and says it is an AI when asked', async () => {
    for (const p of registry.list()) {
      const c = await converse(p, LONG.slice(0, 30), { goals, session: 's_honest', wrapUpAt: 26 });
      for (const r of c.replies) {
        expect(r.reply.content).not.toMatch(
          /\bI(?: am|'m) (?:a |an )?(?:real )?(?:human|person)\b/i,
        );
      }
      // One reply per line after the opening, and the wrap-up cue before line 26.
      const asked = c.replies[LONG.indexOf('Are you a real person?') + 2]!;
      expect(asked.reply.content).toMatch(new RegExp(`AI persona, not a human ${p.type}`));
    }
  });
});

describe('communication style', () => {
  const say = 'I feel anxious and overwhelmed at work, I just know I will fail the review.';
  const reply = async (id: string, turn = 5, words = say) =>
    (
      await engine.reply({
        session_id: 's_style',
        persona: persona(id),
        goals: [],
        kind: 'response',
        persona_turn: turn,
        recent_turns: [{ sender_type: 'client', content: words }],
        wrap_up: false,
      })
    ).content;
  const words = (text: string) => text.split(/\s+/).length;
  const meanSentence = (texts: string[]) => {
    const all = texts.flatMap(sentencesOf);
    return all.reduce((n, s) => n + words(s), 0) / all.length;
  };

  it('the directive, formal CBT therapist suggests; the person-centred counsellor asks, casually', async () => {
    const cbt = await reply('dr_morgan_hayes');
    const pc = await reply('sam_taylor');
    expect(cbt).not.toBe(pc);
    expect(cbt).not.toContain('?');
    expect(cbt).toMatch(/\b(Let us|I suggest|It would help to|My suggestion)\b/);
    expect(pc).toMatch(/\?$/);
    expect(cbt).not.toMatch(/\b\w+'(re|m|s|ll|t)\b/);
    expect(pc).toMatch(/\b(you're|I'm|it's|that's|let's|don't)\b/i);
  });

  it('over a session: more questions, contractions and shorter sentences from the counsellor', async () => {
    const lines = LONG.slice(0, 24);
    const cbt = (await converse(persona('dr_morgan_hayes'), lines, { session: 's_st' })).replies;
    const pc = (await converse(persona('sam_taylor'), lines, { session: 's_st' })).replies;
    const questions = (rs: Said[]) => rs.filter((r) => r.reply.content.endsWith('?')).length;
    expect(questions(pc)).toBeGreaterThan(questions(cbt) + 10);
    const contractions = (rs: Said[]) =>
      rs.filter((r) => /\b\w+'(re|m|s|ll|t|d)\b/.test(r.reply.content)).length;
    expect(contractions(cbt)).toBe(0);
    expect(contractions(pc)).toBeGreaterThan(10);
    const content = (rs: Said[]) => rs.map((r) => r.reply.content);
    expect(meanSentence(content(cbt))).toBeGreaterThan(meanSentence(content(pc)) + 3);
  });

  it('warmth brings validation: the warm therapist validates where the analyst does not', async () => {
    const warm = await reply('dr_morgan_hayes', 2, 'Work has been stressful this week.');
    const cool = await reply('dr_alex_rivera', 2, 'Work has been stressful this week.');
    const validation =
      /really hard|makes sense, given|could feel that way|understandable that|feelings make sense/;
    expect(warm).toMatch(validation);
    expect(cool).not.toMatch(validation);
  });
});

describe('determinism', () => {
  it('gives the same words for the same session and turn, and other words in another session', async () => {
    const a = await converse(persona('dr_morgan_hayes'), ANXIETY, { session: 's_one' });
    const again = await converse(persona('dr_morgan_hayes'), ANXIETY, { session: 's_one' });
    const other = await converse(persona('dr_morgan_hayes'), ANXIETY, { session: 's_two' });
    expect(again.replies).toEqual(a.replies);
    expect(again.analysis).toEqual(a.analysis);
    const differ = a.replies.filter((r, i) => r.reply.content !== other.replies[i]!.reply.content);
    expect(differ.length).toBeGreaterThan(a.replies.length / 2);
    // Same moves, though: the session id varies the words, not the therapy.
    expect(other.replies.map((r) => r.move)).toEqual(a.replies.map((r) => r.move));
  });
});

describe('the clinical reading', () => {
  it('reads "I feel anxious and overwhelmed at work" as clear distress', () => {
    const emotions = readEmotions('I feel anxious and overwhelmed at work');
    expect(emotions.map((e) => e.emotion)).toEqual(['anxious', 'overwhelmed']);
    expect(distressOf(emotions).distress).toBeGreaterThan(0.7);
    expect(distressOf(readEmotions('I am a bit nervous')).distress).toBeLessThan(0.3);
    expect(readEmotions("I'm really panicking all the time")[0]!.intensity).toBe(1);
  });

  it('finds thinking traps, and not when the client disputes them', () => {
    const traps = (text: string) => detectDistortions(text).map((d) => d.distortion);
    expect(traps("I'm a complete failure")).toEqual(['all_or_nothing', 'labelling']);
    expect(traps("I'm not a failure")).toEqual([]);
    expect(traps("It's all my fault")).toEqual(['personalisation']);
    expect(traps("It's not my fault")).toEqual([]);
    expect(traps('It will be a disaster')).toEqual(['catastrophising']);
    expect(traps("It wasn't a disaster")).toEqual([]);
    expect(traps('They all think I am stupid')).toEqual(['mind_reading', 'labelling']);
    expect(traps("I don't think they hate me")).toEqual([]);
    expect(traps('I should have known better')).toEqual(['should_statements']);
    expect(traps('It won’t get better')).toEqual(['fortune_telling']);
    expect(traps("I won't fail")).toEqual([]);
    expect(traps('Nothing ever goes right for me')).toEqual(['overgeneralisation']);
    expect(traps('I feel stupid so it must be true')).toEqual(['emotional_reasoning']);
    expect(traps('All I can think about is the one mistake')).toEqual(['mental_filter']);
  });

  it('has enough wording that a slot used every turn does not repeat within 35 turns', () => {
    const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
    for (const [name, pool] of Object.entries(POOLS)) {
      expect([name, gcd(pool.heads.length, pool.tails.length)]).toEqual([name, 1]);
      expect([name, poolPeriod(pool) >= 35]).toEqual([name, true]);
    }
    for (const t of TECHNIQUES) {
      for (const [leads, cores] of [
        [ASK_LEADS, t.ask],
        [SUGGEST_LEADS, t.suggest],
      ] as const) {
        expect([t.id, gcd(leads.length, cores.length), leads.length * cores.length >= 35]).toEqual([
          t.id,
          1,
          true,
        ]);
      }
    }
  });
});

describe('the analysis of a long session', () => {
  it('cites a few messages per finding, spread over the session, so its size does not grow with the transcript', async () => {
    const lines = Array.from(
      { length: 600 },
      (_, i) =>
        `Message ${i}: work has been stressful, I feel anxious before meetings and I always mess things up. ${'More detail. '.repeat(i % 40)}`,
    );
    const transcript: Turn[] = lines.flatMap((content, i) => [
      { sender_type: 'client' as const, content, id: `m_c${i}` },
      { sender_type: 'persona' as const, content: 'Tell me more.', id: `m_p${i}` },
    ]);
    const analysis = await engine.analyze({
      session_id: 's_long',
      persona: persona('dr_morgan_hayes'),
      goals: ['Reduce anxiety before meetings'],
      transcript,
    });
    const cited = [
      ...(analysis.key_point_evidence ?? []).map((k) => k.evidence),
      ...analysis.insights.map((i) => i.evidence ?? []),
      analysis.mood_evidence ?? [],
    ];
    expect(cited.length).toBeGreaterThan(3);
    for (const evidence of cited) {
      expect(evidence.length).toBeLessThanOrEqual(5);
      for (const e of evidence) {
        expect(e.excerpt.length).toBeLessThanOrEqual(240);
        expect(transcript.find((t) => t.id === e.message_id)?.content).toContain(e.excerpt);
      }
    }
    // The anxious feeling runs through the whole session: its evidence spans it.
    const anxious = analysis.key_point_evidence!.find((k) => k.key_point.includes('anxious'))!;
    expect(anxious.evidence.map((e) => e.message_id)).toEqual(
      expect.arrayContaining(['m_c0', 'm_c599']),
    );
    expect(JSON.stringify(analysis).length).toBeLessThan(16_000);
  });
});
