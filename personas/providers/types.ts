/** What every chat provider gets and gives, whatever its wire protocol. */
import type { SseEvent } from './sse';

export type ProviderName = 'openai' | 'anthropic';

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** One reply's prompt: a system prompt and alternating turns, the last one the user's. */
export interface Chat {
  system: string;
  messages: ChatMessage[];
}

export interface Endpoint {
  base_url: string;
  model: string;
  api_key?: string;
}

export interface Sampling {
  temperature: number;
  max_tokens: number;
}

/** A wire protocol: how to ask for a streamed reply and how to read the stream's text. */
export interface ChatProtocol {
  readonly name: ProviderName;
  request(
    chat: Chat,
    endpoint: Endpoint,
    sampling: Sampling,
  ): { url: string; headers: Record<string, string>; body: unknown };
  /**
   * The reply's text pieces in order; returns at the stream's end marker and throws a
   * ProviderError for an error event, a malformed event or a stream that ends without its marker.
   */
  deltas(events: AsyncIterable<SseEvent>): AsyncGenerator<string>;
}
