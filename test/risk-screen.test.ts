/**
 * The risk screen and the crisis reply, on their own: which words raise which risk at which level,
 * which denials cancel it, and what the reply offers.
 */
import { loadConfig } from '../lib/config';
import { assessRisk } from '../personas/safety/risk';
import { crisisReply, resourcesFor } from '../personas/safety/crisis';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas/registry';

describe('the risk screen', () => {
  it.each([
    ['I want to die', 'high', ['suicide']],
    ["I don't know if I want to die", 'high', ['suicide']],
    ["I don't see the point in living anymore", 'high', ['suicide']],
    ['Sometimes I wish I could go to sleep and never wake up', 'high', ['suicide']],
    ["I'm going to kill myself tonight", 'critical', ['suicide']],
    ['I have pills saved up and I want to die', 'critical', ['suicide']],
    ['Honestly I want to die. I have pills saved up for tonight.', 'critical', ['suicide']],
    ['I keep cutting myself when it gets bad', 'high', ['self_harm']],
    ['I used to cut myself when I was 15', 'medium', ['self_harm']],
    ['I want to hurt my boss', 'high', ['harm_to_others']],
    ["I'm going to kill him when I see him", 'critical', ['harm_to_others']],
    ['He hits me when he drinks', 'high', ['abuse']],
    ["I'm scared of my husband", 'high', ['abuse']],
    ['My dad used to hit me', 'medium', ['abuse']],
    ['I was abused as a child', 'medium', ['abuse']],
    ['I feel hopeless', 'low', []],
  ])('scores %j as %s %j', (text, level, categories) => {
    expect(assessRisk(text)).toMatchObject({ level, categories });
  });

  it.each([
    'I would never hurt myself',
    'I would never hurt myself, but work is getting to me',
    "I'm not suicidal",
    "I'm not going to kill myself",
    'I have never self-harmed',
    'He has never hit me',
    "My partner doesn't hurt me",
    "I don't want to hurt anyone",
    'I feel anxious and overwhelmed at work',
    'Work is killing me',
    "I'm dying to see the film",
    'My boss is going to kill me if I miss the deadline',
  ])('finds no risk in %j', (text) => {
    expect(assessRisk(text).level).toBe('none');
  });

  it('names the words behind each signal and ranks the categories by severity', () => {
    const risk = assessRisk('My dad used to hit me. Now I just want to die.');
    expect(risk.level).toBe('high');
    expect(risk.categories).toEqual(['suicide', 'abuse']);
    expect(risk.signals).toEqual(
      expect.arrayContaining([
        { category: 'suicide', level: 'high', phrase: 'want to die' },
        { category: 'abuse', level: 'medium', phrase: 'my dad used to hit me' },
      ]),
    );
  });
});

describe('the crisis reply', () => {
  const personas = new PersonaRegistry(loadPersonaDefinitions());
  const persona = personas.get('dr_morgan_hayes')!;
  const { safety } = loadConfig({ argv: [], env: {} });

  it('is honest that it is an AI and points to emergency services and the lines for the risk', () => {
    const text = crisisReply(
      {
        persona,
        risk: { level: 'critical', categories: ['suicide'] },
        session_id: 's_1',
        turn: 3,
      },
      safety,
    );
    expect(text).toContain('I am an AI persona, not a human therapist');
    expect(text).toContain('If you are in immediate danger');
    expect(text).toContain(safety.emergency_number);
    expect(text).toContain('988 Suicide & Crisis Lifeline (US): call or text 988');
    expect(text).toContain('Samaritans (UK and Ireland): call 116 123');
    expect(text).not.toContain('Domestic');
    expect(text).toMatch(/Are you safe right now\?$/);
  });

  it('varies its opening between consecutive turns, so a repeated disclosure is not met with the same words', () => {
    const at = (turn: number) =>
      crisisReply(
        {
          persona,
          risk: { level: 'high', categories: ['self_harm'] },
          session_id: 's_2',
          turn,
        },
        safety,
      ).split('. ')[0];
    expect(at(4)).not.toBe(at(5));
  });

  it('chooses resources by risk, keeping those meant for every risk', () => {
    const resources = [
      { name: 'Any', contact: '1' },
      { name: 'Abuse', contact: '2', for: ['abuse' as const] },
      { name: 'Self', contact: '3', for: ['suicide' as const, 'self_harm' as const] },
    ];
    expect(resourcesFor(['abuse'], resources).map((r) => r.name)).toEqual(['Any', 'Abuse']);
    expect(resourcesFor(['self_harm'], resources).map((r) => r.name)).toEqual(['Any', 'Self']);
  });

  it('refuses a configuration whose levels are not on the alert scale', () => {
    expect(() =>
      loadConfig({ argv: [], env: { SMARTSTEPS_SAFETY__ALERT_LEVEL: 'severe' } }),
    ).toThrow(/safety\.alert_level/);
  });
});
