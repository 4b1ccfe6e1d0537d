/**
 * Counts failed calls of a Temporal client (the API's; workers' calls are in the SDK's own
 * `temporal_request_failure`). At the gRPC layer, so every call is seen — session commands,
 * schedules, erasure, the health probe — whichever service made it.
 */
import { InterceptingCall, status as GrpcStatus, type Interceptor } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';

/** Told of each failed call attempt: the RPC's name and the gRPC status name. */
export type RpcErrorSink = (method: string, code: string) => void;

/**
 * Answers rather than failures: a workflow that is gone (or finished) and one already started
 * are how the API learns a session's state, and are mapped to 404/409s, not outages.
 */
const ANSWERS = new Set<number>([GrpcStatus.OK, GrpcStatus.NOT_FOUND, GrpcStatus.ALREADY_EXISTS]);

/**
 * Placed after the SDK's retry interceptor, it sees every attempt: a call retried through a
 * Temporal restart counts each failed try, which is what an operator watching the link wants.
 */
export function countRpcErrors(sink: RpcErrorSink): Interceptor {
  return (options, nextCall) => {
    const method = options.method_definition.path.split('/').pop() ?? 'unknown';
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            if (!ANSWERS.has(status.code)) sink(method, GrpcStatus[status.code] ?? 'UNKNOWN');
            nextStatus(status);
          },
        });
      },
    });
  };
}

/** `smartsteps_temporal_client_errors_total{method,code}` and the sink that feeds it. */
export function createTemporalClientMetrics(registry: Registry): {
  temporalErrors: Counter<'method' | 'code'>;
  onTemporalRpcError: RpcErrorSink;
} {
  const temporalErrors = new Counter({
    name: 'smartsteps_temporal_client_errors_total',
    help: 'Failed Temporal client calls (each attempt), by RPC and gRPC status; not-found and already-exists answers are not failures.',
    labelNames: ['method', 'code'],
    registers: [registry],
  });
  return {
    temporalErrors,
    onTemporalRpcError: (method, code) => temporalErrors.inc({ method, code }),
  };
}
