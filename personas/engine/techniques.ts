/**
 * The therapeutic techniques the local engine can use, each matched to the names personas give
 * their techniques, scored against what the client just said, and worded two ways: as a question
 * (for personas low in directiveness) and as a suggestion (for directive ones). A technique's
 * sentence is a lead and a core that step together with the turn (9 leads, 4 cores: 36 turns
 * before a sentence could come back), and complex personas add the reason for it.
 */
import type { Persona } from '../schema';
import type { Reading } from './reading';
import { approachOf, fnv1a, type Approach } from './voice';

export interface Technique {
  id: string;
  /** The move it makes, as reply metadata names it. */
  move: string;
  /** Which of a persona's technique names this is. */
  names: RegExp;
  /** How well it fits what the client just said (0: not at all). */
  fit: (r: Reading) => number;
  ask: readonly string[];
  suggest: readonly string[];
  /** Why it helps, said by personas with complex language ("since …", "because …"). */
  why: readonly string[];
}

/** How strongly the client feels any of these, now or (at half strength) earlier in view. */
const feeling = (r: Reading, ...emotions: string[]) =>
  Math.max(
    0,
    ...[...r.emotions, ...r.context]
      .filter((e) => emotions.includes(e.emotion))
      .map((e) => e.intensity),
  );
const says = (r: Reading, re: RegExp) => re.test(r.text.toLowerCase());

const AVOIDING =
  /\b(avoid\w*|cancel\w*|skip\w*|stay(ed|ing)? (home|in)|put(ting)? off|can't face)\b/;
const HABIT =
  /\b(habit\w*|biting|picking|scrolling|procrastinat\w*|keep (doing|checking)|can't stop)\b/;
const BEHAVIOUR =
  /\b(every time|whenever|keep|kept|always end up|usually|procrastinat\w*|put(ting)? off)\b/;
const EFFORT = /\b(managed|tried|did it|went|started|finished|got through|kept going)\b/;
const AMBIVALENT =
  /\b(part of me|i want to but|i know i should|not sure (if|whether) i want|on the other hand)\b/;

export const TECHNIQUES: readonly Technique[] = [
  {
    id: 'cognitive_restructuring',
    move: 'technique',
    names: /restructur|refram|challeng\w* (negative )?thought|cognitive/i,
    fit: (r) => (r.distortions.length ? 3 : r.distress >= 0.5 ? 1 : 0),
    ask: [
      'what evidence supports that thought, and what evidence does not quite fit it',
      'if a friend told you they had that thought, what would you say to them',
      'what would be a more balanced way of putting that thought',
      'how strongly do you believe that thought right now, from 0 to 100',
    ],
    suggest: [
      'write that thought down and weigh the evidence for it against the evidence that does not fit',
      'look at that thought the way a fair-minded friend would, and find a more balanced version of it',
      'rate how strongly you believe that thought, then test it against what actually happened',
      'treat that thought as a guess rather than a fact, and list what else could explain the situation',
    ],
    why: [
      'since thoughts are guesses we can test, not facts',
      'because a thought that feels certain is often only one reading of the situation',
      'as catching and checking a thought is how its grip loosens',
    ],
  },
  {
    id: 'behavioural_activation',
    move: 'technique',
    names: /activation/i,
    fit: (r) =>
      3 * feeling(r, 'sad', 'tired', 'lonely', 'ashamed') +
      (says(r, /\b(no motivation|stay(ed|ing)? in bed|can't be bothered|nothing to do)\b/)
        ? 1
        : 0) +
      (says(r, /\b(enjoy\w*|walk\w*|go out|hobby|hobbies|activit\w+|used to)\b/) ? 1.5 : 0),
    ask: [
      'what is one small activity that used to give you a sense of pleasure or achievement',
      'what could you do this week that would give you even a little lift',
      'when in the day do you have the most energy for something small',
      'who is one person you could spend a little time with this week',
    ],
    suggest: [
      'plan one small, enjoyable activity for a set time tomorrow, however low you feel beforehand',
      'pick one task you have been putting off and break it into a ten-minute first step',
      'schedule something that gives you a small sense of achievement, and notice your mood before and after',
      'arrange a short contact with someone you like this week, even a message',
    ],
    why: [
      'because action often comes before motivation, not after',
      'since mood tends to follow what we do',
      'as low mood shrinks our world and small activities widen it again',
    ],
  },
  {
    id: 'mindfulness',
    move: 'technique',
    names: /mindful|grounding|relaxation|breathing/i,
    fit: (r) => 2.5 * feeling(r, 'anxious', 'stressed', 'overwhelmed', 'angry'),
    ask: [
      'what do you notice in your body right now as you describe it',
      'could you take one slow breath and tell me what changes, if anything',
      'what would it be like to notice the worry without having to follow it',
      'where in your body do you feel the tension most',
    ],
    suggest: [
      'pause for three slow breaths, letting each out-breath be longer than the in-breath',
      'name five things you can see and four you can hear, to bring your attention back to the present',
      'notice the thought as just a thought, tell yourself "I am having the thought that", and let it pass',
      'spend one minute noticing where the tension sits in your body, without trying to change it',
    ],
    why: [
      'because stepping back from a thought weakens its hold',
      'since a calmer body gives the mind more room',
      'as attention anchored in the present cannot be lost in the what-ifs at the same time',
    ],
  },
  {
    id: 'graded_exposure',
    move: 'technique',
    names: /exposure/i,
    fit: (r) => {
      const anxious = feeling(r, 'anxious');
      if (!anxious) return 0;
      return says(r, AVOIDING) || r.topics.includes('friends') ? 3 : 1;
    },
    ask: [
      'what situations have you been avoiding because of the anxiety',
      'if we made a ladder of those situations, what would sit on the lowest rung',
      'what would be a small, manageable step towards the thing you fear',
      'what do you predict would happen if you stayed in the situation a little longer',
    ],
    suggest: [
      'list the situations you avoid and rank them from least to most frightening, so we can start at the bottom',
      'choose the easiest step on that ladder and practise it until the anxiety settles',
      'stay in a small feared situation a little longer than usual and note what actually happens',
      'write down your prediction before the next step, then compare it with what happens',
    ],
    why: [
      'because avoidance keeps fear alive, while gradual contact teaches us we can cope',
      'since anxiety falls on its own when we stay long enough',
      'as each small success makes the next step easier',
    ],
  },
  {
    id: 'functional_analysis',
    move: 'functional_analysis',
    names: /functional|\babc\b|antecedent/i,
    fit: (r) => 1 + (says(r, BEHAVIOUR) ? 1.5 : 0),
    ask: [
      'what happened just before you noticed this, and what happened right after',
      'when this comes up, what do you usually do, and what does that get you in the short term',
      'where and when does this tend to happen most',
      'what happens afterwards that might be keeping the pattern going',
    ],
    suggest: [
      'map the last time this happened: what came just before, what you did, and what followed',
      'note the trigger, the behaviour and the consequence each time this comes up this week',
      'pin down exactly when and where this happens, so we can change what sets it off',
      'look at what the behaviour gets you in the short term, and what it costs you later',
    ],
    why: [
      'since behaviour makes sense once we see what triggers and rewards it',
      'because changing the trigger is often easier than fighting the habit',
      'as a pattern we can describe is a pattern we can change',
    ],
  },
  {
    id: 'self_monitoring',
    move: 'technique',
    names: /monitor|tracking|diary/i,
    fit: (r) => 0.8 + (r.ratings > 0 || says(r, /\b(how often|times a|every day)\b/) ? 1 : 0),
    ask: [
      'how often did this happen over the past week, even roughly',
      'if you rated it from 0 to 10 each day, what would today be',
      'what would be the easiest way for you to keep track of it',
      'what do you expect a week of notes would show',
    ],
    suggest: [
      'keep a simple tally of each time this happens this week, with the time and place',
      'rate it from 0 to 10 every evening so we can see the pattern together',
      'log it on your phone the moment it happens rather than from memory later',
      'write one line a day about it, so we have real numbers to work with next time',
    ],
    why: [
      'because measuring a behaviour often changes it on its own',
      'since memory is kinder or harsher than the record',
      'as numbers show progress that feelings can hide',
    ],
  },
  {
    id: 'positive_reinforcement',
    move: 'technique',
    names: /reinforce|shaping|reward/i,
    fit: (r) => 3 * r.relief + (says(r, EFFORT) ? 1 : 0),
    ask: [
      'what small step have you already managed, even if it felt minor',
      'how could you reward yourself for taking that step',
      'what would a slightly bigger step look like next',
      'who could notice and encourage your progress',
    ],
    suggest: [
      'pick a small reward and give it to yourself straight after each step, not before',
      'set the next step just a little beyond what you managed this week',
      'celebrate the step you took, however small, as that is what we want more of',
      'agree with yourself on a small reward for each day you manage the step',
    ],
    why: [
      'since behaviour that is rewarded is repeated',
      'because small successes build on each other',
      'as steps that feel achievable are the ones we keep taking',
    ],
  },
  {
    id: 'habit_reversal',
    move: 'technique',
    names: /habit/i,
    fit: (r) => (says(r, HABIT) ? 3 : 0),
    ask: [
      'what are the first signs that the habit is about to start',
      'what could you do with your hands or attention instead at that moment',
      'in which situations does the habit show up most',
      'how aware are you of it when it starts',
    ],
    suggest: [
      'notice the earliest warning sign and, at that moment, switch to a competing response for one minute',
      'choose an action that makes the habit impossible and practise it whenever the urge comes',
      'record each urge with its situation, so we can see where to step in',
      'ask someone you trust to point out the habit kindly when they see it',
    ],
    why: [
      'since a habit runs on autopilot until we notice its first step',
      'because a competing response gives the urge somewhere else to go',
      'as awareness is what turns an automatic habit back into a choice',
    ],
  },
  {
    id: 'eliciting_change_talk',
    move: 'evoke_change_talk',
    names: /change talk|ruler|motivational/i,
    fit: (r) => 1.5 + (says(r, AMBIVALENT) ? 1.5 : 0),
    ask: [
      'what would you like to be different, and why does that matter to you',
      'on a scale from 0 to 10, how important is this change to you, and what makes it that number rather than a lower one',
      'what have you tried before that helped, even a little',
      'if things went the way you hope, what would the next few months look like',
    ],
    suggest: [
      'rate from 0 to 10 how important this change is to you, and tell me why it is not lower',
      'describe what your life would look like if this change worked out',
      'name the reasons for change that matter most to you',
      'recall a time you made a change before and what helped you do it',
    ],
    why: [
      'because your own reasons for change carry more weight than anyone else',
      'since hearing yourself say why it matters makes it more real',
      'as you know your life better than anyone',
    ],
  },
  {
    id: 'affirmation',
    move: 'technique',
    names: /affirm/i,
    fit: (r) => 2.5 * r.relief + (says(r, EFFORT) ? 1 : 0),
    ask: [
      'what does it say about you that you kept going with this',
      'what strengths helped you get this far',
      'what would you tell someone else who had managed what you have',
      'what are you most proud of in how you handled it',
    ],
    suggest: [
      'take a moment to notice the effort you have put in, because it is real',
      'give yourself credit for what you managed, even if it feels small',
      'hold on to the strength you showed here, as you can draw on it again',
      'name one thing you did well this week, out loud',
    ],
    why: [
      'since noticing our strengths makes them easier to use',
      'because effort deserves recognition as much as results',
      'as confidence grows from evidence of what we can do',
    ],
  },
  {
    id: 'empathic_validation',
    move: 'validation',
    names: /validation|empath/i,
    fit: (r) => 2 * r.distress,
    ask: [
      'what would you most like someone to understand about how hard this has been',
      'how long have you been carrying this on your own',
      'what has it been like to hold all of this',
      'what do you need most right now',
    ],
    suggest: [
      'let yourself acknowledge how much you have been carrying',
      'give yourself the same kindness you would give a friend in this place',
      'take a breath and let this be as hard as it is, without judging yourself for it',
      'allow yourself to feel this without needing to fix it straight away',
    ],
    why: [
      'because feelings that are acknowledged tend to soften',
      'since being understood is often the first relief',
      'as self-kindness makes hard things easier to face',
    ],
  },
  {
    id: 'reflection',
    move: 'reflection',
    names: /reflect|listening|open question/i,
    fit: (r) => 1 + r.distress,
    ask: [
      'what is that like for you',
      'what feels most important about this for you right now',
      'what do you notice in yourself as you talk about it',
      'what would you like me to understand about it',
    ],
    suggest: [
      'take a moment to stay with that feeling and put it into your own words',
      'say a little more about it, at whatever pace feels right',
      'notice what comes up as you talk, without needing to make sense of it yet',
      'tell me about it in whatever order it comes to you',
    ],
    why: [
      'since you are the expert on your own experience',
      'because putting feelings into words often makes them clearer',
      'as there is no right or wrong answer here',
    ],
  },
];

/** The questions each approach explores with before it intervenes. */
const SOCRATIC: Technique = {
  id: 'socratic_question',
  move: 'socratic_question',
  names: /socratic|guided discovery/i,
  fit: () => 1,
  ask: [
    'what thought was going through your mind when that feeling was strongest',
    'what does this situation seem to say about you, in your own mind',
    'what is the worst you fear could happen, and how likely is it really',
    'how would you see this if it were happening to someone you care about',
  ],
  suggest: [
    'walk through the moment the feeling was strongest and catch the thought that went with it',
    'put the thought that comes with this feeling into one sentence',
    'separate what actually happened from what your mind predicted would happen',
    'look at this as you would if it were happening to a friend',
  ],
  why: [
    'since the thought behind a feeling is often where change begins',
    'because feelings follow the meaning we give to events',
    'as a little distance makes a thought easier to examine',
  ],
};
const byId = (id: string) => TECHNIQUES.find((t) => t.id === id)!;
export const EXPLORATION: Record<Approach, Technique> = {
  cbt: SOCRATIC,
  behavioral: byId('functional_analysis'),
  person_centered: byId('reflection'),
  motivational: byId('eliciting_change_talk'),
};

/** The techniques a persona practises, by the names in its definition; its approach's own if none match. */
export function techniquesOf(persona: Persona): Technique[] {
  const own = TECHNIQUES.filter((t) => persona.techniques.some((name) => t.names.test(name)));
  return own.length ? own : [EXPLORATION[approachOf(persona)]];
}

/**
 * The technique that best fits what the client said; among equally good ones the turn decides,
 * so a persona with several fitting techniques uses them in turn rather than always the first.
 */
export function chooseTechnique(
  persona: Persona,
  reading: Reading,
  seed: string,
  turn: number,
): Technique {
  const own = techniquesOf(persona);
  const scored = own.map((t) => [t, t.fit(reading)] as const);
  const best = Math.max(...scored.map(([, s]) => s));
  if (best <= 0) return EXPLORATION[approachOf(persona)];
  const top = scored.filter(([, s]) => s >= best - 0.25).map(([t]) => t);
  return top[(fnv1a(seed) + turn) % top.length]!;
}

/** Leads that turn a question core into a sentence; 9, coprime with the 4 cores of each technique. */
export const ASK_LEADS = [
  '',
  'Let me ask you this: ',
  'I am curious: ',
  'Take your time with this: ',
  'Here is a question to sit with: ',
  'If you are willing, ',
  'Thinking about it now, ',
  'One thing I wonder: ',
  'Just to explore it a little, ',
];
/** Leads that turn a suggestion core into a sentence. */
export const SUGGEST_LEADS = [
  'Let us ',
  'I suggest we ',
  'My suggestion is that we ',
  'As a next step, let us ',
  'It would help to ',
  'For now, let us ',
  'Let us try to ',
  'Before we go further, let us ',
  'Here is something to try: let us ',
];
