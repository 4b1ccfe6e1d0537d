/**
 * Anthropic's Messages API: POST `{base_url}/v1/messages` with `stream: true`. Text arrives in
 * `content_block_delta` events whose delta is a `text_delta`; `message_stop` ends the stream and
 * an `error` event (e.g. `overloaded_error`) can come at any point.
 */
import { errorCode, ProviderError } from './errors';
import type { ChatProtocol } from './types';

export const ANTHROPIC_VERSION = '2023-06-01';

interface StreamEvent {
  type?: unknown;
  delta?: { type?: unknown; text?: unknown };
}

export const anthropicProtocol: ChatProtocol = {
  name: 'anthropic',

  request(chat, endpoint, sampling) {
    return {
      url: `${endpoint.base_url.replace(/\/+$/, '')}/v1/messages`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        'anthropic-version': ANTHROPIC_VERSION,
        ...(endpoint.api_key ? { 'x-api-key': endpoint.api_key } : {}),
      },
      body: {
        model: endpoint.model,
        system: chat.system,
        messages: chat.messages,
        max_tokens: sampling.max_tokens,
        temperature: sampling.temperature,
        stream: true,
      },
    };
  },

  async *deltas(events) {
    for await (const { data } of events) {
      let evt: StreamEvent;
      try {
        evt = JSON.parse(data) as StreamEvent;
      } catch {
        throw new ProviderError('malformed_stream', 'a stream event is not JSON', false);
      }
      if (typeof evt !== 'object' || evt === null || typeof evt.type !== 'string') {
        throw new ProviderError('malformed_stream', 'a stream event has no type', false);
      }
      switch (evt.type) {
        case 'content_block_delta':
          if (evt.delta?.type === 'text_delta' && typeof evt.delta.text === 'string') {
            if (evt.delta.text) yield evt.delta.text;
          }
          break;
        case 'message_stop':
          return;
        case 'error': {
          const code = errorCode(evt);
          throw new ProviderError(
            'stream_error',
            `error in the stream${code ? ` (${code})` : ''}`,
            true,
          );
        }
        default:
        // message_start, content_block_start/stop, message_delta, ping: no text
      }
    }
    throw new ProviderError('stream_cut', 'the stream ended before message_stop', true);
  },
};
