/**
 * Cognitive distortions (the "thinking traps" of CBT) read from a client's words. Pattern-based:
 * each trap has a few phrasings people actually use, matched clause by clause so that a denial in
 * the same clause ("I'm not a failure", "it wasn't my fault") cancels the ones where denying the
 * thought is the healthy answer to it.
 */
export type Distortion =
  | 'catastrophising'
  | 'all_or_nothing'
  | 'mind_reading'
  | 'fortune_telling'
  | 'should_statements'
  | 'overgeneralisation'
  | 'labelling'
  | 'personalisation'
  | 'emotional_reasoning'
  | 'mental_filter';

/** How a persona names each trap to a client. */
export const DISTORTION_LABEL: Record<Distortion, string> = {
  catastrophising: 'catastrophising',
  all_or_nothing: 'all-or-nothing thinking',
  mind_reading: 'mind reading',
  fortune_telling: 'fortune telling',
  should_statements: 'a should statement',
  overgeneralisation: 'overgeneralising',
  labelling: 'labelling yourself',
  personalisation: 'personalising',
  emotional_reasoning: 'emotional reasoning',
  mental_filter: 'a mental filter',
};

/** What each trap does, in a few words, for psychoeducation. */
export const DISTORTION_GIST: Record<Distortion, string> = {
  catastrophising: 'jumps to the worst possible outcome',
  all_or_nothing: 'sees things only in black and white',
  mind_reading: 'assumes we know what others think of us',
  fortune_telling: 'predicts the future as if it were fact',
  should_statements: 'holds us to rigid rules',
  overgeneralisation: 'turns one event into a never-ending pattern',
  labelling: 'sums a whole person up in one harsh word',
  personalisation: 'takes the blame for things outside our control',
  emotional_reasoning: 'treats a feeling as proof that something is true',
  mental_filter: 'lets one detail outweigh everything else',
};

interface Trap {
  distortion: Distortion;
  pattern: RegExp;
  /** Whether "not"/"never" just before the match means the client is disputing the thought. */
  deniable: boolean;
}

const NEG = String.raw`(?:not|never|n't|no)`;
const WHO = String.raw`(?:they|he|she|everyone|everybody|people|my (?:boss|manager|colleagues|friends|family|partner|team)|the others)`;
const SELF_LABEL = String.raw`(?:failure|loser|idiot|fraud|disappointment|burden|joke|mess|screw[- ]?up|waste of space)`;
const SELF_ADJ = String.raw`(?:stupid|useless|worthless|pathetic|incompetent|weak|lazy|unlovable|broken|hopeless)`;

const TRAPS: Trap[] = [
  {
    distortion: 'catastrophising',
    pattern:
      /\b(?:(?:a |an |total |complete |absolute )?(?:disaster|catastrophe|nightmare)|the worst (?:thing|outcome|case)|end of the world|everything (?:will|is going to|is gonna) (?:fall apart|go wrong|collapse)|(?:ruin|ruined|ruins) (?:everything|my life|my career)|(?:i'll|i will) (?:never recover|lose everything)|what if (?:it|i|they|everything) (?:\w+ ){0,3}(?:goes wrong|fail|fails|lose|loses|falls apart|gets? fired))\b/,
    deniable: true,
  },
  {
    distortion: 'all_or_nothing',
    pattern: new RegExp(
      String.raw`\b(?:(?:complete|total|utter) (?:failure|waste|disaster)|(?:either|it's) (?:perfect|all) or (?:nothing|useless|a failure|pointless)|if it(?:'s| is) not perfect|(?:nothing|everything) i do is (?:wrong|right|pointless|useless|rubbish)|(?:completely|totally) (?:useless|ruined|pointless|wasted)|anything less than perfect|all or nothing)\b`,
    ),
    deniable: true,
  },
  {
    distortion: 'mind_reading',
    pattern: new RegExp(
      String.raw`\b(?:${WHO}(?: \w+){0,3} (?:all |must |probably |definitely |clearly )?(?:think|thinks|thought|believe|believes) (?:that )?(?:i'm|i am|i was|i'm just|i look|i sound|i'm not|i can't|i don't)|${WHO} (?:all |must |probably |secretly )?(?:hate|hates|dislike|dislikes|judge|judges|laugh at|laughs at) me|(?:they're|everyone's|everyone is|people are|they are) (?:all )?(?:judging|laughing at|talking about) me|i (?:just )?know (?:they|he|she|everyone|people) (?:think|thinks|hate|hates|don't like|doesn't like))`,
    ),
    deniable: true,
  },
  {
    distortion: 'fortune_telling',
    pattern:
      /\b(?:(?:i'll|i will|i'm going to|i am going to|i'm gonna) (?:definitely |probably |just |totally )?(?:fail|mess (?:it )?up|screw (?:it )?up|get fired|be rejected|embarrass myself|make a fool of myself|blow it|never (?:get|find|be|manage))|(?:it'll|it will|it's going to|it is going to|this will|this is going to) (?:definitely |probably |just )?(?:go wrong|be a mess|fail|go badly|never work)|(?:it|things|this|nothing)(?:'s| is)? (?:never going to|won't ever|will never|won't) (?:get better|work out|change|improve|work)|nothing (?:will|is going to) (?:ever )?(?:change|help|work)|i just know (?:it|i|they|this) (?:will|'ll|is going to))\b/,
    deniable: true,
  },
  {
    distortion: 'should_statements',
    pattern:
      /\b(?:i (?:should|shouldn't|should not|must|mustn't|ought to|have to|need to) (?:always |never )?(?:have |be |not |feel |cope|manage|know|handle|get over)|i'm supposed to be|(?:people|they|he|she|everyone) (?:should|shouldn't|ought to) (?:always |never )?(?:have |be |know ))/,
    deniable: false,
  },
  {
    distortion: 'overgeneralisation',
    pattern:
      /\b(?:(?:this|it|that|something like this|stuff like this) always happens|(?:always|never) (?:goes|works out|turns out) (?:right|well|my way)|every (?:single )?time i (?:try|do|go|say|open)|i (?:always|never) (?:mess|screw|ruin|get (?:it|anything|things) (?:wrong|right)|fail|let (?:people|everyone) down|say the wrong)|i can never|nothing ever (?:works|goes right|changes|goes my way)|(?:no one|nobody|noone) (?:ever )?(?:likes|cares|listens|wants|understands|respects|calls)|everyone always (?:leaves|ignores|forgets))/,
    deniable: false,
  },
  {
    distortion: 'labelling',
    pattern: new RegExp(
      String.raw`\b(?:(?:i'm|i am|i feel like|i'm just|i am just|i'm such|i am such) (?:(?:a|an|such a|such an|a complete|a total|the biggest) )?(?:${SELF_LABEL}|${SELF_ADJ})|what (?:a|an) ${SELF_LABEL} i am)\b`,
    ),
    deniable: true,
  },
  {
    distortion: 'personalisation',
    pattern:
      /\b(?:(?:it's|it is|it was|that's|that is|that was|this is|this was) (?:all |entirely |totally )?my fault|(?:all |it's all )?because of me|i'm (?:the reason|to blame)|i am (?:the reason|to blame)|i blame myself|if only i had|i (?:caused|ruined) (?:it|this|everything))\b/,
    deniable: true,
  },
  {
    distortion: 'emotional_reasoning',
    pattern:
      /\b(?:i feel (?:like )?(?:a |an )?(?:\w+ ){0,2}so (?:it|i|that|they|this) (?:must|has to|have to) (?:be|mean)|(?:because|since) i feel (?:\w+ ){1,3}(?:it|i|that|there|this) (?:must|has to)|if i feel (?:\w+ ){1,3}(?:it|there|then it) (?:must|has to)|i feel (?:it|that) so it must be true|feels true so it must be)\b/,
    deniable: false,
  },
  {
    distortion: 'mental_filter',
    pattern:
      /\b(?:(?:all|the only thing) i (?:can|could) (?:think about|see|remember|focus on)|(?:one|a single|that one|the one) (?:mistake|comment|thing|criticism|error) (?:ruined|spoiled|wrecked)|(?:that|it|the good stuff|the good bits|the praise) (?:doesn't|does not|didn't) (?:count|matter)|(?:it|that) was (?:just|only) luck|anyone could have done (?:it|that)|only the (?:bad|negative) (?:stuff|things|bits|parts))\b/,
    deniable: false,
  },
];

export interface DistortionReading {
  distortion: Distortion;
  /** The clause of the client's words that showed it, as written. */
  excerpt: string;
}

/** Clauses of the original text (a clause break ends a denial's reach), with apostrophes normalised. */
function clauses(text: string): string[] {
  return text
    .replace(/[’‘]/g, "'")
    .split(/[.;:!?\n]+|,\s*(?:but|and|so)\b|\bbut\b/i)
    .map((c) => c.trim())
    .filter(Boolean);
}

const DENIED_BEFORE = new RegExp(String.raw`(?:\b${NEG}|n't)\s+(?:\w+\s+){0,1}$`);
// "I'm not a failure": the denial sits inside the match, between "I'm" and the label.
const DENIED_INSIDE =
  /^(?:i'm|i am|it's|it is|it was|that's|that is|that was|this is|i'll|i will|it'll|it will) (?:not|never)\b/;

/** The thinking traps in a message, in the order they are said, each with the words that show it. */
export function detectDistortions(text: string): DistortionReading[] {
  const found: DistortionReading[] = [];
  for (const clause of clauses(text)) {
    const lower = clause.toLowerCase();
    for (const trap of TRAPS) {
      if (found.some((f) => f.distortion === trap.distortion)) continue;
      const m = trap.pattern.exec(lower);
      if (!m) continue;
      if (
        trap.deniable &&
        (DENIED_BEFORE.test(lower.slice(0, m.index)) || DENIED_INSIDE.test(m[0]))
      )
        continue;
      // The whole clause is the thought ("I'll mess up the talk and it will be a disaster").
      found.push({ distortion: trap.distortion, excerpt: clause });
    }
  }
  return found;
}
