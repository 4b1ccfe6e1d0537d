import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
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
  return { connection, client, codec, close: () => connection.close() };
}

export async function pingTemporal(handle: TemporalHandle, namespace: string): Promise<void> {
  await handle.connection.workflowService.describeNamespace({ namespace });
}
