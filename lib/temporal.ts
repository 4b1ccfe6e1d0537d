import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import { setMaxListeners } from 'node:events';
import type { Config } from './config';
import {
  payloadCodecFromConfig,
  temporalDataConverter,
  type PayloadEncryptionCodec,
} from './crypto/payload-codec';
import { countRpcErrors, type RpcErrorSink } from './metrics/temporal-client';

export interface TemporalHandle {
  connection: Connection;
  client: Client;
  /** The payload codec of `client`; the API's codec endpoint serves the same one. */
  codec: PayloadEncryptionCodec;
  /**
   * Runs `fn` with its Temporal calls cancelled when the handle closes. A call still waiting
   * then (an Update held up by a busy workflow) must end before the channel does: otherwise the
   * SDK's retry of it meets a closed channel and throws where nothing can catch it.
   */
  cancellable: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Cancels the calls still in flight, then closes the connection. */
  close(): Promise<void>;
}

/**
 * A client whose payloads are encrypted (see lib/crypto/payload-codec.ts). `codec` is given by
 * callers that connect in a retry loop, so a key problem is reported once, not retried.
 */
export async function connectTemporal(
  config: Config,
  codec: PayloadEncryptionCodec = payloadCodecFromConfig(config),
  opts: { onRpcError?: RpcErrorSink } = {},
): Promise<TemporalHandle> {
  const connection = await Connection.connect({
    address: config.temporal.address,
    // Giving interceptors replaces the SDK's default list: its retries are kept, first.
    ...(opts.onRpcError
      ? {
          interceptors: [
            makeGrpcRetryInterceptor(defaultGrpcRetryOptions()),
            countRpcErrors(opts.onRpcError),
          ],
        }
      : {}),
  });
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: temporalDataConverter(codec),
  });
  const closing = new AbortController();
  // Every call in flight relays from this one signal (dozens under load: REST requests, queued
  // WebSocket frames); Node's default of 10 would warn of a leak that is not one.
  setMaxListeners(0, closing.signal);
  const inFlight = new Set<Promise<unknown>>();
  return {
    connection,
    client,
    codec,
    cancellable: (fn) => {
      // A signal of the call's own, relayed from the handle's: the SDK adds an 'abort' listener
      // (holding the gRPC call) to the signal it is given for every RPC and never removes it.
      // Given the long-lived signal, every RPC the API ever made stayed reachable: its heap
      // doubled in a 30-minute soak. This one is garbage once the call is over.
      const own = new AbortController();
      const relay = () => own.abort(closing.signal.reason);
      if (closing.signal.aborted) relay();
      else closing.signal.addEventListener('abort', relay, { once: true });
      const call = connection.withAbortSignal(own.signal, fn);
      inFlight.add(call);
      const settled = () => {
        inFlight.delete(call);
        closing.signal.removeEventListener('abort', relay);
      };
      void call.then(settled, settled);
      return call;
    },
    close: async () => {
      closing.abort(new Error('Temporal connection closing'));
      // Cancelled calls reject promptly; the bound covers one that ignores its signal.
      let bound: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((resolve) => (bound = setTimeout(resolve, 2_000))),
      ]);
      clearTimeout(bound);
      await connection.close();
    },
  };
}

export async function pingTemporal(handle: TemporalHandle, namespace: string): Promise<void> {
  await handle.connection.workflowService.describeNamespace({ namespace });
}
