/**
 * Errors that cross a boundary carry the spec's envelope fields: a stable `code`, an HTTP
 * `status`, and optional `details`. The API's one error middleware turns them into
 * `{ error: { code, message, details, request_id } }`; anything else becomes a 500 whose
 * message never leaves the server.
 */
export type ErrorDetails = Record<string, unknown>;

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details?: ErrorDetails,
    /** What went wrong underneath, for the server's log only (`cause` never leaves it). */
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request body is not JSON, or a parameter cannot be read at all. */
export class BadRequestError extends AppError {
  readonly status = 400;
  readonly code = 'invalid_request';
}

/** The request is well-formed but a field fails validation. */
export class ValidationError extends AppError {
  readonly status = 422;
  readonly code = 'validation_error';
}

export class AuthenticationError extends AppError {
  readonly status = 401;
  readonly code = 'authentication_error';
}

export class PermissionDeniedError extends AppError {
  readonly status = 403;
  readonly code = 'permission_denied';
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'resource_not_found';
}

export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'conflict';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

export class RateLimitedError extends AppError {
  readonly status = 429;
  readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    details?: ErrorDetails,
  ) {
    super(message, details);
  }
}

/** A dependency (Temporal, NATS, MongoDB) cannot serve the request right now. */
export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'service_unavailable';
}
