/** A ProblemDetails answer (RFC 9457) as SmartApp writes it: a stable `type`, the status, what went wrong. */
export interface Problem {
  type: string;
  title?: string;
  status: number;
  detail?: string;
  traceId?: string;
  correlationId?: string;
  errors?: Record<string, string[]>;
  [extension: string]: unknown;
}

/** Any answer that is not a success. `kind` is the last segment of the problem type (`validation`, `not-found`, `quota-exceeded`, …). */
export class SmartAppError extends Error {
  readonly kind: string;
  readonly status: number;
  readonly problem: Problem;
  /** Seconds to wait before trying again, from Retry-After, when the answer has one. */
  readonly retryAfter?: number;

  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.name = new.target.name;
    this.problem = problem;
    this.status = problem.status;
    this.kind = kindOf(problem.type);
    this.retryAfter = retryAfter;
  }
}

/** 400: `fields` names each invalid field and why. */
export class ValidationError extends SmartAppError {
  get fields(): Record<string, string[]> {
    return this.problem.errors ?? {};
  }
}
export class UnauthorizedError extends SmartAppError {}
export class ForbiddenError extends SmartAppError {}
export class NotFoundError extends SmartAppError {}
export class ConflictError extends SmartAppError {}
/** 402 or 429 `quota-exceeded`: a plan limit; `retryAfter` says when a period resets (absent when only a bigger plan helps). */
export class QuotaExceededError extends SmartAppError {}
/** 429 `rate-limited`: too many requests; wait `retryAfter` seconds. */
export class RateLimitedError extends SmartAppError {}
/** 503 `upstream-unavailable`: a provider is down; wait `retryAfter` seconds. */
export class UnavailableError extends SmartAppError {}

const byKind: Record<string, new (problem: Problem, retryAfter?: number) => SmartAppError> = {
  validation: ValidationError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  "not-found": NotFoundError,
  conflict: ConflictError,
  "quota-exceeded": QuotaExceededError,
  "rate-limited": RateLimitedError,
  "upstream-unavailable": UnavailableError,
};

/** The last segment of a problem type: `https://smartapp.dev/problems/not-found` → `not-found`. */
function kindOf(type: string): string {
  return type.split("/").pop() || "unexpected";
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date); undefined without one. */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/** The typed error for a response that is not a success (its body already read, or null when it had none). */
export function errorFrom(response: Response, body: unknown): SmartAppError {
  const problem: Problem =
    body && typeof body === "object" && typeof (body as Problem).type === "string"
      ? (body as Problem)
      : { type: `https://smartapp.dev/problems/${response.status === 404 ? "not-found" : "unexpected"}`, status: response.status, title: response.statusText };
  const retryAfter = retryAfterSeconds(response.headers.get("Retry-After"));
  return new (byKind[kindOf(problem.type)] ?? SmartAppError)(problem, retryAfter);
}
