/**
 * Session events for this API instance's sockets. One ordered JetStream consumer per instance
 * follows `ss.events.session.>` and core-NATS subscriptions follow `ss.live.session.*.typing` and
 * `ss.live.session.*.delta` (streamed reply pieces); each event is turned into its frame once and
 * handed to the sockets that joined its session.
 *
 * Why one consumer per instance rather than one per joined session: the cost on NATS is
 * constant per instance (no consumer created per join, nothing to clean up when sockets die),
 * and any instance can serve any session, so no sticky routing is needed. Why a JetStream
 * consumer rather than a core subscription: only the stream knows an event's sequence, and the
 * sequence is what lets a client resume without loss or duplicates.
 *
 * Resuming (`since`) replays the session's events from the stream with a short-lived ordered
 * consumer filtered on `ss.events.session.<id>.>` while live events for that socket are held
 * back; both paths then meet in `Membership.emit`, which drops anything at or below the last
 * sequence sent.
 */
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type Msg, type Subscription } from '@nats-io/transport-node';
import type { Bus } from '../../lib/bus';
import { ValidationError } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import type { LifecycleEvent, MessageDeltaEvent, TypingEvent } from '../../lib/schemas/events';
import type { ServerFrame } from '../../lib/schemas/websocket';
import { typingSubject } from '../../lib/events';
import { randomToken } from '../../lib/ids';

const SESSION_EVENTS = 'ss.events.session.>';
const TYPING = 'ss.live.session.*.typing';
const DELTAS = 'ss.live.session.*.delta';
/** Header naming the socket a typing indicator came from, so it is not echoed back to it. */
const ORIGIN_HEADER = 'Ss-Ws-Origin';
const REPLAY_BATCH = 256;

/** An event as the sockets receive it: its stream sequence and its frame, serialised once. */
export interface StoredEvent {
  seq: number;
  /** Undefined for events that have no WebSocket frame (e.g. `note.added`). */
  text: string | undefined;
}

export interface SocketSink {
  /** Unique across instances (typing indicators carry it as their origin). */
  readonly id: string;
  sendText(text: string): void;
}

/** One socket's subscription to one session. */
export class Membership {
  private held: StoredEvent[] | null = [];

  constructor(
    readonly sink: SocketSink,
    readonly sessionId: string,
    /** The last sequence this socket has seen; nothing at or below it is sent again. */
    public lastSeq: number,
  ) {}

  onLive(evt: StoredEvent): void {
    if (this.held) this.held.push(evt);
    else this.emit(evt);
  }

  emit(evt: StoredEvent): void {
    if (evt.seq <= this.lastSeq) return;
    this.lastSeq = evt.seq;
    if (evt.text) this.sink.sendText(evt.text);
  }

  /** Ends the catch-up: what arrived live meanwhile is sent, minus what the replay already sent. */
  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const evt of held) this.emit(evt);
  }
}

export function eventFrame(evt: LifecycleEvent, seq: number): ServerFrame | undefined {
  switch (evt.event) {
    case 'message.created':
      return {
        type: 'new_message',
        id: evt.event_id,
        data: { session_id: evt.data.session_id, message: evt.data.message, seq },
      };
    case 'persona.fallback':
      return {
        type: 'persona_fallback',
        id: evt.event_id,
        data: {
          session_id: evt.data.session_id,
          message_id: evt.data.message_id,
          provider: evt.data.provider,
          model: evt.data.model,
          reason: evt.data.reason,
          seq,
        },
      };
    case 'session.scheduled':
    case 'session.started':
    case 'session.ended':
    case 'session.cancelled':
      return {
        type: 'session_update',
        id: evt.event_id,
        data: { ...evt.data, event: evt.event, seq },
      };
    case 'alert.raised':
      return {
        type: 'alert',
        id: evt.event_id,
        data: { session_id: evt.data.session_id, alert: evt.data.alert, seq },
      };
    default:
      return undefined;
  }
}

export function typingFrame(evt: TypingEvent): ServerFrame {
  return {
    type: 'typing_indicator',
    id: `srv_${randomToken(12)}`,
    data: {
      session_id: evt.session_id,
      sender_type: evt.sender_type,
      sender_id: evt.sender_id,
      is_typing: evt.is_typing,
      timestamp: evt.timestamp,
    },
  };
}

export function deltaFrame(evt: MessageDeltaEvent): ServerFrame {
  return {
    type: 'message_delta',
    id: `srv_${randomToken(12)}`,
    data: {
      session_id: evt.session_id,
      message_id: evt.message_id,
      attempt: evt.attempt,
      index: evt.index,
      delta: evt.delta,
    },
  };
}

function sessionOf(subject: string): string | undefined {
  // ss.events.session.<id>.<event…> and ss.live.session.<id>.typing / .delta
  return subject.split('.')[3];
}

export class SessionFanout {
  private readonly members = new Map<string, Set<Membership>>();
  private live: { close(): Promise<void | Error> } | undefined;
  private loop: Promise<void> | undefined;
  private typing: Subscription | undefined;
  private deltas: Subscription | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Start right after the stream's current end: a consumer created lazily cannot miss events.
    const { state } = await this.bus.jsm.streams.info(this.bus.stream);
    const consumer = await this.bus.js.consumers.get(this.bus.stream, {
      filter_subjects: [SESSION_EVENTS],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: state.last_seq + 1,
    });
    const messages = await consumer.consume();
    this.live = messages;
    this.loop = (async () => {
      for await (const msg of messages) this.onStored(msg);
    })().catch((err: unknown) => this.log.error({ err }, 'websocket fan-out stopped'));
    this.typing = this.liveSubscription(TYPING, (msg) => typingFrame(msg.json<TypingEvent>()));
    // Deltas are sent at once even to a socket still catching up on stored events: they are a
    // preview of a message that is not stored yet, so no replay could bring them later.
    this.deltas = this.liveSubscription(DELTAS, (msg) => deltaFrame(msg.json<MessageDeltaEvent>()));
  }

  /** Ephemeral events: at most once, straight to the session's sockets, minus the one they came from. */
  private liveSubscription(subject: string, toFrame: (msg: Msg) => ServerFrame): Subscription {
    return this.bus.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const sessionId = sessionOf(msg.subject);
        const set = sessionId ? this.members.get(sessionId) : undefined;
        if (!set?.size) return;
        let text: string;
        try {
          text = JSON.stringify(toFrame(msg));
        } catch {
          return;
        }
        const origin = msg.headers?.get(ORIGIN_HEADER);
        for (const m of set) if (m.sink.id !== origin) m.sink.sendText(text);
      },
    });
  }

  async stop(): Promise<void> {
    this.typing?.unsubscribe();
    this.deltas?.unsubscribe();
    await this.live?.close();
    await this.loop;
    this.members.clear();
  }

  /** Events stored after `lastSeq` reach the membership once it goes live (see `join`). */
  add(membership: Membership): void {
    let set = this.members.get(membership.sessionId);
    if (!set) this.members.set(membership.sessionId, (set = new Set()));
    set.add(membership);
  }

  remove(membership: Membership): void {
    const set = this.members.get(membership.sessionId);
    if (!set) return;
    set.delete(membership);
    if (!set.size) this.members.delete(membership.sessionId);
  }

  /**
   * Subscribes a socket to a session. With `since`, the session's stored events after that
   * sequence are sent first; without, the socket gets what is stored from now on.
   */
  async join(
    sink: SocketSink,
    sessionId: string,
    since: number | undefined,
    /**
     * Called before any of the session's events is sent, with the sequence the socket is up to:
     * it gets every event of the session stored after it.
     */
    joined: (seq: number) => void,
  ): Promise<Membership> {
    const membership = new Membership(sink, sessionId, since ?? 0);
    // Registered before reading the stream, so anything stored from here on is seen live.
    this.add(membership);
    try {
      if (since === undefined) {
        const { state } = await this.bus.jsm.streams.info(this.bus.stream);
        membership.lastSeq = state.last_seq;
        joined(state.last_seq);
      } else {
        // A cursor past the stream's end is not from this stream (one rebuilt since): resuming
        // from it would silently skip every event up to it.
        const { state } = await this.bus.jsm.streams.info(this.bus.stream);
        if (since > state.last_seq) {
          throw new ValidationError(
            `since ${since} is beyond the newest event (${state.last_seq}); join without since to start from now`,
            { field: 'since', reason: 'beyond the newest event' },
          );
        }
        joined(since);
        await this.replay(membership, since);
      }
      membership.goLive();
      return membership;
    } catch (err) {
      this.remove(membership);
      throw err;
    }
  }

  private async replay(membership: Membership, since: number): Promise<void> {
    const consumer = await this.bus.js.consumers.get(this.bus.stream, {
      filter_subjects: [`ss.events.session.${membership.sessionId}.>`],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: since + 1,
    });
    try {
      if ((await consumer.info()).num_pending === 0) return;
      const messages = await consumer.consume({ max_messages: REPLAY_BATCH });
      const timer = setTimeout(() => void messages.close(), 30_000);
      let caughtUp = false;
      try {
        for await (const msg of messages) {
          try {
            membership.emit(toStored(msg));
          } catch (err) {
            this.log.warn({ err, subject: msg.subject }, 'unreadable session event skipped');
          }
          if (msg.info.pending === 0) {
            caughtUp = true;
            break;
          }
        }
      } finally {
        clearTimeout(timer);
        await messages.close();
      }
      if (!caughtUp) throw new Error('event replay did not finish in time');
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }

  private onStored(msg: JsMsg): void {
    const sessionId = sessionOf(msg.subject);
    const set = sessionId ? this.members.get(sessionId) : undefined;
    // Most events concern sessions nobody here watches: those are not even parsed.
    if (!set?.size) return;
    let stored: StoredEvent;
    try {
      stored = toStored(msg);
    } catch (err) {
      this.log.warn({ err, subject: msg.subject }, 'unreadable session event skipped');
      return;
    }
    for (const m of [...set]) m.onLive(stored);
  }
}

function toStored(msg: JsMsg): StoredEvent {
  const frame = eventFrame(msg.json<LifecycleEvent>(), msg.seq);
  return { seq: msg.seq, text: frame ? JSON.stringify(frame) : undefined };
}

/** Typing indicators are core NATS only: at most once, never stored. */
export function publishTypingFrom(bus: Bus, evt: TypingEvent, originSocket: string): void {
  const h = natsHeaders();
  h.set(ORIGIN_HEADER, originSocket);
  bus.nc.publish(typingSubject(evt.session_id), JSON.stringify(evt), { headers: h });
}
