/**
 * What a timeline arrow says about a message: its kind, term, entry count and success, read
 * from a decoded Raft message (`type`, `term`, `entries`, `success` or `voteGranted`) or, for
 * any other RPC, its method.
 *
 * @module
 */

/** An arrow's label fields; -1 where the message has no such field. */
export interface MessageSummary {
  readonly kind: string;
  readonly term: number;
  readonly entries: number;
  /** 1 success or vote granted, 0 refused, -1 not said. */
  readonly success: number;
}

/** Summarizes `body`, the request or reply (`isReply`) of a call of `method`. */
export function describeBody(method: string, body: unknown, isReply: boolean): MessageSummary {
  if (typeof body !== "object" || body === null || !("type" in body)) {
    return { kind: isReply ? `${method} reply` : method, term: -1, entries: -1, success: -1 };
  }
  const fields = body as Record<string, unknown>;
  const granted = fields.success ?? fields.voteGranted;
  return {
    kind: String(fields.type),
    term: typeof fields.term === "number" ? fields.term : -1,
    entries: Array.isArray(fields.entries) ? fields.entries.length : -1,
    success: typeof granted === "boolean" ? (granted ? 1 : 0) : -1,
  };
}
