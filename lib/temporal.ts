import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';

export interface TemporalHandle {
  connection: Connection;
  client: Client;
  close(): Promise<void>;
}

export async function connectTemporal(config: Config): Promise<TemporalHandle> {
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { connection, client, close: () => connection.close() };
}

export async function pingTemporal(handle: TemporalHandle, namespace: string): Promise<void> {
  await handle.connection.workflowService.describeNamespace({ namespace });
}
