/**
 * The OpenAI chat-completions protocol, which OpenAI, Ollama, vLLM, llama.cpp's server and
 * LM Studio all speak: POST `{base_url}/chat/completions` with `stream: true`; each event's data
 * is a chunk whose `choices[0].delta.content` carries text, and `data: [DONE]` ends the stream.
 */
import { errorCode, ProviderError } from './errors';
import type { ChatProtocol } from './types';

interface Chunk {
  choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
  error?: unknown;
}

export const openAiProtocol: ChatProtocol = {
  name: 'openai',

  request(chat, endpoint, sampling) {
    return {
      url: `${endpoint.base_url.replace(/\/+$/, '')}/chat/completions`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        // Local servers (Ollama, llama.cpp) need no key; sending an empty Bearer would confuse some.
        ...(endpoint.api_key ? { Authorization: `Bearer ${endpoint.api_key}` } : {}),
      },
      body: {
        model: endpoint.model,
        messages: [{ role: 'system', content: chat.system }, ...chat.messages],
        stream: true,
        temperature: sampling.temperature,
        // `max_tokens` rather than OpenAI's newer `max_completion_tokens`: every compatible server knows it.
        max_tokens: sampling.max_tokens,
      },
    };
  },

  async *deltas(events) {
    let finished = false;
    for await (const { data } of events) {
      if (data.trim() === '[DONE]') return;
      let chunk: Chunk;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        throw new ProviderError('malformed_stream', 'a stream event is not JSON', false);
      }
      if (typeof chunk !== 'object' || chunk === null) {
        throw new ProviderError('malformed_stream', 'a stream event is not an object', false);
      }
      if (chunk.error) {
        const code = errorCode(chunk);
        throw new ProviderError(
          'stream_error',
          `error in the stream${code ? ` (${code})` : ''}`,
          true,
        );
      }
      // Chunks without choices (usage reports) carry no text.
      const choice = chunk.choices?.[0];
      const content = choice?.delta?.content;
      if (typeof content === 'string' && content) yield content;
      if (choice?.finish_reason) finished = true;
    }
    // Some servers end after the finishing chunk without `[DONE]`; without either, it was cut.
    if (!finished) throw new ProviderError('stream_cut', 'the stream ended before [DONE]', true);
  },
};
