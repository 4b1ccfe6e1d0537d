/**
 * What generated clients bring to a session and say in it: goals and client lines by concern,
 * the way people in therapy talk about anxiety, sleep, work, relationships and low mood, plus
 * follow-up openings that report progress and closing lines.
 *
 * Every line is ordinary distress, never risk: the safety screen (personas/safety/risk.ts) must
 * rate each one `none` (a test holds it to that), so generated sessions raise no alerts and the
 * persona answers in its normal voice rather than with crisis resources.
 */
import type { Random } from './random';

export const THEMES = ['anxiety', 'sleep', 'work_stress', 'relationships', 'low_mood'] as const;
export type Theme = (typeof THEMES)[number];

interface Bank {
  goals: string[];
  /** First thing said in a first session about this concern. */
  openers: string[];
  /** The rest of the conversation. */
  details: string[];
}

export const BANKS: Record<Theme, Bank> = {
  anxiety: {
    goals: [
      'Reduce everyday worry',
      'Learn grounding techniques for panic',
      'Feel comfortable in social situations',
      'Stop avoiding situations that cause anxiety',
    ],
    openers: [
      "I've been feeling really anxious lately and I'm not sure why.",
      'My heart starts racing whenever I have to speak up in a meeting.',
      'I worry about everything, even little things like sending an email.',
      "I keep getting this tight feeling in my chest when I'm around lots of people.",
      "I've started avoiding the supermarket because it feels overwhelming.",
      'My mind jumps to the worst case every time my phone rings.',
    ],
    details: [
      'Last week I left a party early because I felt everyone was watching me.',
      'I spend hours going over conversations afterwards, checking if I said something stupid.',
      'When I feel it coming on, my hands get sweaty and I can barely think.',
      'I tell myself it will be fine, but part of me is sure it will go badly.',
      'My partner says I overthink things, and I suppose they are right.',
      'I tried a breathing app but I forgot to use it when it mattered.',
      "It's worse in the mornings, before I've even got out of bed.",
      'I cancelled plans with a friend on Saturday because I was too nervous to go.',
      "I know most of my worries never happen, but that doesn't stop them.",
      'Sometimes I notice I am holding my breath without realising it.',
    ],
  },
  sleep: {
    goals: [
      'Build a regular sleep routine',
      'Fall asleep within half an hour',
      'Reduce night-time rumination',
      'Wake up feeling rested',
    ],
    openers: [
      "I can't seem to switch off at night, my mind just keeps going.",
      "I've been waking up at 3am most nights and can't get back to sleep.",
      "I'm exhausted all day but the moment my head hits the pillow I'm wide awake.",
      'My sleep has been all over the place since I started shift work.',
      "I've been lying awake going over my to-do list for hours.",
    ],
    details: [
      'I usually scroll on my phone in bed until about one in the morning.',
      'I drink a lot of coffee to get through the afternoon.',
      'At weekends I sleep in until eleven to catch up.',
      'When I wake in the night I check the clock and start counting the hours left.',
      'I feel foggy at work and I keep making small mistakes.',
      'I tried melatonin for a while but it made me groggy the next day.',
      'My bedroom doubles as my office, so it never really feels like a place to rest.',
      'On the nights I do sleep well I feel like a different person.',
      'I get irritable with my family when I have had a bad night.',
      'I often lie there thinking about things I said years ago.',
    ],
  },
  work_stress: {
    goals: [
      'Manage workload without burning out',
      'Set clearer boundaries at work',
      'Handle conflict with my manager calmly',
      'Switch off from work in the evenings',
    ],
    openers: [
      "I've been feeling stressed about work and it's spilling into everything else.",
      'My workload has doubled since a colleague left and nobody has replaced them.',
      'I find it really hard to say no when my manager asks me to take something on.',
      "I'm checking my email late at night and at weekends and I can't stop.",
      'I have a big presentation next month and I am already dreading it.',
      "I feel like I'm always behind, no matter how many hours I put in.",
    ],
    details: [
      'My deadlines keep piling up and I never feel on top of things.',
      'I stayed until nine every night last week and still did not finish.',
      'My manager gave me feedback in front of the whole team and I felt humiliated.',
      'I keep thinking that if I make one mistake everyone will see I am not good enough.',
      'I eat lunch at my desk most days because there is no time to stop.',
      'On Sunday evenings I get a knot in my stomach thinking about Monday.',
      'I snapped at a colleague yesterday, which is not like me at all.',
      'I have started to wonder whether this job is right for me.',
      "I feel guilty whenever I take a day off, as if I'm letting everyone down.",
      'Even on holiday I kept checking my messages.',
    ],
  },
  relationships: {
    goals: [
      'Communicate more openly with my partner',
      'Handle disagreements without shutting down',
      'Rebuild trust with family',
      'Feel less lonely',
    ],
    openers: [
      'My partner and I keep having the same argument over and over.',
      "I've been feeling distant from my friends since I moved to a new city.",
      'Things have been tense with my parents since the holidays.',
      "I find it hard to tell people how I'm feeling, so I just go quiet.",
      'My sister and I had a falling out a few months ago and we have not spoken since.',
    ],
    details: [
      'When we argue I shut down and my partner says that makes it worse.',
      'I always seem to be the one who apologises first.',
      'My friends have group chats that I am not part of any more.',
      'My mum criticises the way I raise my kids and I never know what to say.',
      'I want to be closer to people but I worry they will think I am too much.',
      'We used to have date nights but we have not had one in months.',
      'I feel lonely even when I am in a room full of people.',
      'I keep rehearsing what I want to say to my sister but I never send the message.',
      'Last week we actually talked things through and it went better than I expected.',
      'I think I learned from my dad to keep my feelings to myself.',
    ],
  },
  low_mood: {
    goals: [
      'Understand what affects my mood',
      'Bring back activities I used to enjoy',
      'Challenge negative thinking',
      'Build a steadier daily routine',
    ],
    openers: [
      "I've been feeling flat for a few weeks and I don't really know why.",
      'Nothing seems to give me much pleasure at the moment.',
      "I've been feeling down since the winter started.",
      'I have stopped doing the things I used to enjoy, like painting and running.',
      'Most days I feel tired and a bit numb.',
    ],
    details: [
      "I haven't been out with friends in about a month.",
      'It takes me ages to get out of bed, even when I have slept enough.',
      'I keep telling myself I should be grateful, which just makes me feel worse.',
      'I used to love cooking but now I mostly eat toast.',
      'I always mess things up, so why would this time be any different?',
      'Some mornings are better, usually when I have something planned.',
      'I went for a short walk on Sunday and felt a little lighter afterwards.',
      'I compare myself to everyone on social media and feel like I am falling behind.',
      'My family has noticed I am quieter than usual.',
      'I find it hard to concentrate on a book or a film any more.',
    ],
  },
};

/** Openings of a follow-up session: what happened since the last one. */
export const PROGRESS_OPENERS = [
  'Since our last session I tried the exercise we talked about, and it helped a bit.',
  'This week was a bit better than last week, I think.',
  'I managed to do one of the things on my list, which felt like a win.',
  'I noticed the pattern we discussed a couple of times this week.',
  'I had a setback on Wednesday, but I got back on track by the weekend.',
  'I kept a diary like you suggested and I have some notes to go through.',
  'I have been practising the breathing technique every evening.',
  'Honestly it has been a mixed week, some good days and some hard ones.',
];

export const CLOSINGS = [
  'That makes sense. I think I can try that this week.',
  'Thank you, it helps to say it out loud.',
  "I'll try writing my thoughts down like you suggested.",
  'I feel a bit calmer than when we started.',
  'Okay, I will practise that before our next session.',
  'That gives me something concrete to work on.',
  "I hadn't thought about it that way before.",
  'I think setting one small goal for the week is realistic.',
];

export interface Conversation {
  theme: Theme;
  goals: string[];
  /** The client's lines, one per turn, in order. */
  lines: string[];
}

/**
 * A session's goals and client lines: an opening (or, in a follow-up, a progress report), then
 * different details, then a closing line when there are three turns or more.
 */
export function conversation(
  rng: Random,
  theme: Theme,
  turns: number,
  followUp: boolean,
): Conversation {
  const bank = BANKS[theme];
  const goals = rng.sample(bank.goals, rng.int(1, 2));
  const lines = [rng.pick(followUp ? PROGRESS_OPENERS : bank.openers)];
  const middle = Math.max(0, turns - (turns >= 3 ? 2 : 1));
  // Details repeat only when a session is longer than the bank.
  while (lines.length - 1 < middle) {
    lines.push(...rng.sample(bank.details, middle - (lines.length - 1)));
  }
  if (turns >= 3) lines.push(rng.pick(CLOSINGS));
  return { theme, goals, lines: lines.slice(0, turns) };
}

/** Every line a generated client may say, for checks. */
export function allLines(): string[] {
  return [
    ...Object.values(BANKS).flatMap((b) => [...b.openers, ...b.details]),
    ...PROGRESS_OPENERS,
    ...CLOSINGS,
  ];
}
