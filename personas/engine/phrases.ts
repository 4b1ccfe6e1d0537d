/**
 * The local engine's sentences, as pools of heads and tails (see `rotate` in voice.ts). Heads
 * carry the meaning, tails vary the ending; each pool pairs 5 heads with 7 tails (or 9 leads with
 * 4 or 5 cores), so a slot used on every turn still gives 35 turns without repeating a sentence.
 * Placeholders in braces are filled by the engine: {feel}, {where}, {also}, {topic}, {aim},
 * {aims}, {goals}, {trap}, {gist}, {thought}, {felt}, {type}.
 */
import type { Pool } from './voice';

/** Endings for a statement or a suggestion. */
const S_TAILS = [
  '.',
  ', and we can adjust as we go.',
  ', one step at a time.',
  ', at a pace that suits you.',
  ', and see what we learn.',
  ', and build from there.',
  ', and keep the rest in view.',
];
/** Endings for a question. */
const Q_TAILS = [
  '?',
  ', do you think?',
  ', as you see it?',
  ', in your own words?',
  ', if you had to say?',
  ', at this point?',
  ', looking at it now?',
];

/** When the client's words carry no feeling to reflect. */
export const ACKNOWLEDGE: Pool = {
  heads: [
    'Thank you for telling me that',
    'I hear you',
    'I am glad you shared that',
    'That is helpful to know',
    'I am following you',
  ],
  tails: [
    '.',
    ', and I am listening.',
    ', so let us look at it together.',
    ', and there is no rush.',
    ' and I want to understand it well.',
    ', and it gives us something to work with.',
    ', and I appreciate you putting it into words.',
  ],
};

/** Difficult feelings, reflected back with where they arise. */
export const REFLECT: Pool = {
  heads: [
    'It sounds like you are feeling {feel}{where}{also}',
    'I am hearing that you feel {feel}{where}{also}',
    'So you have been feeling {feel}{where}{also}',
    'What comes through is that you feel {feel}{where}{also}',
    'You are describing feeling {feel}{where}{also}',
    'From what you say, you feel {feel}{where}{also}',
    'If I have understood you, you are feeling {feel}{where}{also}',
  ],
  tails: [
    '.',
    ', and that matters.',
    ', and I want to take that seriously.',
    ' right now.',
    ', which is worth exploring.',
  ],
};

/** Only good feelings to reflect. */
export const REFLECT_UP: Pool = {
  heads: [
    'It is good to hear you are feeling {feel}',
    'I am glad you feel {feel}',
    'It sounds like you are feeling {feel}',
    'That is encouraging: you feel {feel}',
    'It is lovely to hear that you feel {feel}',
  ],
  tails: [
    '.',
    ' today.',
    ', and that is worth noticing.',
    ', and I would like to hear what helped.',
    ' after everything.',
    ', which is worth holding on to.',
    ' right now.',
  ],
};

/** No feeling named, but a part of life: reflect the subject. */
export const REFLECT_TOPIC: Pool = {
  heads: [
    'You are telling me about {topic}',
    'So this is about {topic}',
    'It sounds like {topic} is on your mind',
    'Let us look at what is happening with {topic}',
    'I am hearing that {topic} matters here',
  ],
  tails: ACKNOWLEDGE.tails,
};

/** No feeling named, but a thinking trap: reflect the thought itself. */
export const REFLECT_THOUGHT: Pool = {
  heads: [
    'Part of you is telling yourself "{thought}"',
    'So the thought is "{thought}"',
    'I am hearing the thought "{thought}"',
    'It sounds like your mind is saying "{thought}"',
    'What you are telling yourself is "{thought}"',
  ],
  tails: ACKNOWLEDGE.tails,
};

/** Warmth: validating a difficult feeling. */
export const VALIDATE: Pool = {
  heads: [
    'That sounds really hard',
    'That makes sense, given what you are dealing with',
    'Anyone in your position could feel that way',
    'It is understandable that this weighs on you',
    'Those feelings make sense',
  ],
  tails: [
    '.',
    ', and you do not have to face it alone.',
    ', and I am glad you said it.',
    ', and it takes courage to name it.',
    ', and you are not the only one who feels this way.',
    ', and it is okay to feel this way.',
    ', and thank you for trusting me with it.',
  ],
};

/** "Are you a real person?": always the honest answer. */
export const IDENTITY: Pool = {
  heads: [
    'To be clear, I am an AI persona, not a human {type}',
    'Honestly, no: I am an AI persona, not a human {type}',
    'I should be upfront: I am an AI persona, not a human {type}',
    'No, I am an AI persona, not a human {type}',
    'Good question: I am an AI persona, not a human {type}',
  ],
  tails: [
    '.',
    ', and I will always be honest about that.',
    ', so please lean on the real people in your life too.',
    ', though I am here to listen and help you think things through.',
    ', and a qualified professional can offer what I cannot.',
    ', and I do not have feelings or a life of my own.',
    ', but our conversation can still be useful.',
  ],
};

/** Psychoeducation: what a pattern is, in one sentence. Heads by what the client brought. */
const PSY_TAILS = [
  '.',
  ', and it can change with practice.',
  ', so it helps to catch it in the act.',
  ', and noticing it is the first step.',
  ', and it tends to grow louder under stress.',
  ', which is common rather than a personal failing.',
  ', and we can learn to work with it.',
];
export const EDUCATE = {
  distortion: {
    heads: [
      'What you describe sounds like {trap}, a thinking trap that {gist}',
      'Many people under strain fall into {trap}, which {gist}',
      'One pattern worth knowing is {trap}: a way of thinking that {gist}',
      'CBT calls this {trap}, a habit of mind that {gist}',
      'There is a name for this, {trap}, and it {gist}',
    ],
    tails: PSY_TAILS,
  },
  anxiety: {
    heads: [
      "Anxiety is the body's alarm system, and it often goes off when there is no real danger",
      'When we are anxious, the mind overestimates the threat and underestimates our ability to cope',
      'Worry tends to feel useful, yet it rarely solves the problem it circles around',
      'Avoiding what makes us anxious brings quick relief but keeps the fear going',
      'Anxiety rises, peaks and falls on its own if we give it time',
    ],
    tails: PSY_TAILS,
  },
  low_mood: {
    heads: [
      'Low mood and inactivity feed each other: the less we do, the worse we feel',
      'When mood is low, the mind notices what went wrong and skips what went right',
      'Low mood saps motivation, so waiting to feel like doing something can mean waiting a long time',
      'Tiredness and low mood often travel together',
      'Self-criticism tends to deepen low mood rather than lift it',
    ],
    tails: PSY_TAILS,
  },
  stress: {
    heads: [
      'Stress is what happens when demands feel bigger than the resources we have to meet them',
      'Under pressure, the mind narrows to the next threat and loses sight of the bigger picture',
      'When everything feels urgent, it becomes difficult to see what actually matters most',
      'Stress builds up like water in a bucket, and we need ways to let some out',
      'Short bursts of stress can sharpen us, but long stretches wear us down',
    ],
    tails: PSY_TAILS,
  },
  behaviour: {
    heads: [
      'Behaviour that is followed by relief or reward tends to be repeated',
      'What happens just before a behaviour often sets it off more than willpower can stop it',
      'Small, specific changes to a routine tend to last longer than big resolutions',
      'Escaping a difficult feeling brings relief now and keeps the pattern going later',
      'A behaviour we measure is a behaviour we start to understand',
    ],
    tails: PSY_TAILS,
  },
  thoughts: {
    heads: [
      'Thoughts, feelings, body sensations and actions all influence each other',
      'How we interpret a situation shapes how we feel about it as much as the situation itself',
      'Automatic thoughts arrive fast and feel true, even when they are only one reading of events',
      'Changing what we do can change how we think, and the other way round',
      'A feeling is real information about us, though not always about the world',
    ],
    tails: PSY_TAILS,
  },
} satisfies Record<string, Pool>;
export type EducationTopic = keyof typeof EDUCATE;

/** Linking what the client says to a session goal. */
export const GOAL_LINK: Pool = {
  heads: [
    'This connects with your goal of {aim}',
    'This ties in with what you want from today, {aim}',
    'That is close to the heart of {aim}',
    'Keep in mind your goal of {aim} here',
    'This is part of {aim}',
  ],
  tails: [
    '.',
    ', so it is worth our time.',
    ', which is why I want to stay with it.',
    ', and every small step counts.',
    ', so let us keep it in view.',
    ', and you are already working on it.',
    ', which we agreed at the start.',
  ],
};

export const GOAL_CHECK_ASK: Pool = {
  heads: [
    'Coming back to your goal of {aim}, where would you put yourself now, from 0 to 10',
    'Let me check in on {aim}: how close does it feel now',
    'Thinking about {aim}, what has shifted so far today',
    'How are we doing with {aim}, from where you sit',
    'Before we go on, how does {aim} look to you now',
  ],
  tails: [
    '?',
    ', compared with when we started?',
    ', in a word or two?',
    ', even roughly?',
    ', honestly?',
    ', if you had to guess?',
    ', now that we have talked a while?',
  ],
};
export const GOAL_CHECK_SUGGEST: Pool = {
  heads: [
    'Let us check in on your goal of {aim} and rate where you are now, from 0 to 10',
    'Let us pause on {aim} and name one thing that has moved',
    'Take a moment to rate how close {aim} feels now, from 0 to 10',
    'Let us measure {aim} again and note where you are now',
    'Let us look at {aim} and note what has shifted so far',
  ],
  tails: [
    '.',
    ', so we can see what is working.',
    ', compared with the start of the session.',
    ', and we will adjust our plan to fit.',
    ', and we will build on whatever has moved.',
    ', so we keep our focus where you want it.',
    ', before we go on.',
  ],
};

/** Agenda: a goal the client's words point to. */
export const AGENDA_FOCUS_SUGGEST: Pool = {
  heads: [
    'Let us make {aim} our focus to begin with',
    'Then let us start with {aim}',
    'I suggest we begin with {aim}',
    'Let us put {aim} first on our agenda',
    'That points us towards {aim}, so let us start there',
  ],
  tails: S_TAILS,
};
export const AGENDA_FOCUS_ASK: Pool = {
  heads: [
    'Would you like to start with {aim}',
    'Shall we begin with {aim}',
    'Does it feel right to focus on {aim} first',
    'Is {aim} where you would like to begin',
    'Should we make {aim} our starting point',
  ],
  tails: Q_TAILS,
};
/** Agenda: goals were set, but the client's words point to none of them. */
export const AGENDA_CHOOSE_SUGGEST: Pool = {
  heads: [
    'Let us take our goals in turn, starting with {aim}',
    'I suggest we begin with {aim} and come to the others after',
    'Let us start with {aim}, since it is first on our list',
    'Let us give {aim} our attention first',
    'Let us open with {aim} and see where it leads',
  ],
  tails: S_TAILS,
};
export const AGENDA_CHOOSE_ASK: Pool = {
  heads: [
    'Which of our goals would you like to start with: {aims}',
    'Where shall we begin: {aims}',
    'Of {aims}, which feels most important today',
    'Which matters most to you right now: {aims}',
    'Would you rather start with {aims}',
  ],
  tails: Q_TAILS,
};
/** Agenda: no goals were set for the session. */
export const AGENDA_OPEN_SUGGEST: Pool = {
  heads: [
    'Let us set one goal for today around {topic}',
    'I suggest we agree one thing about {topic} to work on today',
    'Let us name what you would like to be different with {topic} by the end of today',
    'Let us make {topic} our focus and set a goal for it',
    'Let us pick one part of {topic} to work on today',
  ],
  tails: S_TAILS,
};
export const AGENDA_OPEN_ASK: Pool = {
  heads: [
    'What would you like to be different by the end of today',
    'What would make today feel worthwhile for you',
    'If we set one goal for today, what would it be',
    'What would you most like to focus on today',
    'What would you like to take away from our time today',
  ],
  tails: Q_TAILS,
};

/** Summaries, at the end of the session or when little time is left. */
export const SUMMARY_LEAD: Pool = {
  heads: [
    'Let me pull together what we have covered',
    'Before our time runs out, here is what I have heard',
    'Let me sum up where we have got to',
    'Here is a short summary of today',
    'Let me gather the main threads',
  ],
  tails: [
    '.',
    ' so far.',
    ', so you can check I have it right.',
    ', and tell me if I have missed anything.',
    ' before we finish.',
    ', briefly.',
    ', in a few words.',
  ],
};
export const SUMMARY_FELT: Pool = {
  heads: [
    'You described feeling {felt}',
    'Along the way you told me you felt {felt}',
    'Feeling {felt} came up',
    'We heard about feeling {felt}',
    'You spoke about feeling {felt}',
  ],
  tails: [
    '.',
    '{where}.',
    ' at different points.',
    ', and you stayed with it.',
    ', which took courage to talk about.',
    ' today.',
    ' as we talked.',
  ],
};
export const SUMMARY_THOUGHT: Pool = {
  heads: [
    'We noticed the thought "{thought}", which has the shape of {trap}',
    'The thought "{thought}" came up, a form of {trap}',
    'We looked at "{thought}", an example of {trap}',
    'One thought stood out, "{thought}", which we named {trap}',
    'We caught the thought "{thought}", which is {trap}',
  ],
  tails: [
    '.',
    ', and it is worth questioning.',
    ', though it may not be the whole story.',
    ', and it is worth watching for.',
    ', and you can catch it again next time.',
    ', a pattern we can keep working on.',
    ', and you looked at it with fresh eyes.',
  ],
};
export const SUMMARY_GOALS: Pool = {
  heads: [
    'Our goals for today were {aims}',
    'We set out to work on {aims}',
    'Today was about {aims}',
    'We came in wanting to focus on {aims}',
    'The aims we agreed were {aims}',
  ],
  tails: [
    '.',
    ', and we made a start.',
    ', and we gave them our attention.',
    ', and there is more to build on.',
    ', and you put real effort in.',
    ', which we can return to next time.',
    ', and we kept them in view.',
  ],
};
export const SUMMARY_CHECK: Pool = {
  heads: [
    'Does that match how it felt to you',
    'Is there anything you would add',
    'What would you change in that summary',
    'Does that sound right',
    'Have I missed anything important',
  ],
  tails: Q_TAILS,
};

/** The last turns, once the wrap-up cue has been given. */
export const CLOSING_ASK: Pool = {
  heads: [
    'What is one thing you would like to take away from today',
    'What is one small step you could try before we next meet',
    'Looking back over our conversation, what stood out most for you',
    'What would you like to remember from today',
    'How are you feeling as we come to the end',
  ],
  tails: Q_TAILS,
};
export const CLOSING_SUGGEST: Pool = {
  heads: [
    'Let us choose one small step for you to try before we next meet',
    'Take one thing from today and put it into practice this week',
    'Let us note what stood out for you today',
    'Keep the step we agreed somewhere you will see it',
    'Be kind to yourself as you try things out this week',
  ],
  tails: S_TAILS,
};

/** Every pool above, for the test that checks none repeats within a session. */
export const POOLS: Record<string, Pool> = {
  ACKNOWLEDGE,
  REFLECT,
  REFLECT_UP,
  REFLECT_TOPIC,
  REFLECT_THOUGHT,
  VALIDATE,
  IDENTITY,
  ...Object.fromEntries(Object.entries(EDUCATE).map(([k, p]) => [`EDUCATE.${k}`, p])),
  GOAL_LINK,
  GOAL_CHECK_ASK,
  GOAL_CHECK_SUGGEST,
  AGENDA_FOCUS_SUGGEST,
  AGENDA_FOCUS_ASK,
  AGENDA_CHOOSE_SUGGEST,
  AGENDA_CHOOSE_ASK,
  AGENDA_OPEN_SUGGEST,
  AGENDA_OPEN_ASK,
  SUMMARY_LEAD,
  SUMMARY_FELT,
  SUMMARY_THOUGHT,
  SUMMARY_GOALS,
  SUMMARY_CHECK,
  CLOSING_ASK,
  CLOSING_SUGGEST,
};
