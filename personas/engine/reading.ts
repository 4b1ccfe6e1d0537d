/**
 * What the engine reads in the client's latest words: feelings with their intensity, how
 * distressed that adds up to, thinking traps, the parts of life involved, and whether the client
 * asks who they are talking to or asks for advice.
 */
import { detectDistortions, type DistortionReading } from './distortions';
import {
  asksAboutIdentity,
  detectTopics,
  distressOf,
  extractSelfRatings,
  readEmotions,
  type EmotionReading,
  type Topic,
} from './lexicon';

export interface Reading {
  text: string;
  emotions: EmotionReading[];
  /**
   * Feelings from the client's earlier turns in view, at half strength: "I mostly stay in bed"
   * after "I've felt down for weeks" is still about low mood.
   */
  context: EmotionReading[];
  /** 0–1: the difficult feelings combined. */
  distress: number;
  /** 0–1: the good feelings combined. */
  relief: number;
  distortions: DistortionReading[];
  topics: Topic[];
  /** How many 0–10 self-ratings the words hold. */
  ratings: number;
  asksIdentity: boolean;
  asksAdvice: boolean;
}

const ADVICE =
  /\b(what (should|can|could) i do|any (advice|tips|ideas)|how (do|can|could) i (stop|cope|deal|handle|manage|get)|help me (with|to|cope)|what would you (suggest|recommend))\b/;

export function readClient(text: string, earlier: readonly string[] = []): Reading {
  const emotions = readEmotions(text);
  return {
    text,
    emotions,
    context: earlier
      .flatMap((t) => readEmotions(t))
      .map((e) => ({ ...e, intensity: Math.round(e.intensity * 50) / 100 })),
    ...distressOf(emotions),
    distortions: detectDistortions(text),
    topics: detectTopics(text),
    ratings: extractSelfRatings(text).length,
    asksIdentity: asksAboutIdentity(text),
    asksAdvice: ADVICE.test(text.toLowerCase().replace(/[’‘]/g, "'")),
  };
}
