/**
 * Server-sent events, as both OpenAI-compatible servers and Anthropic stream replies: `event:`
 * and `data:` lines, one blank line ending each event. Only what those servers send is handled
 * (no `id:`/`retry:` reconnection, which a one-shot POST never uses).
 */

export interface SseEvent {
  /** `message` unless the server named it (Anthropic names every event; OpenAI names none). */
  event: string;
  data: string;
}

export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];

  const line = (text: string): SseEvent | undefined => {
    if (text === '') {
      const done = data.length ? { event: event || 'message', data: data.join('\n') } : undefined;
      event = '';
      data = [];
      return done;
    }
    if (text.startsWith(':')) return undefined; // a comment, e.g. a keep-alive
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    return undefined;
  };

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    // Lines end with \n, \r\n or \r; a \r at the very end may be half of a \r\n still to come.
    let match: RegExpExecArray | null;
    const eol = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    while ((match = eol.exec(buffer))) {
      const evt = line(buffer.slice(start, match.index));
      start = match.index + match[0].length;
      if (evt) yield evt;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  // A last event not closed by a blank line was cut off: the spec says to drop it.
  if (buffer.endsWith('\r')) {
    const evt = line(buffer.slice(0, -1));
    if (evt) yield evt;
  }
}
