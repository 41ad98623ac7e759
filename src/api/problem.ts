// RFC 9457 problem details: the body of every error answer.
import { z } from 'zod';
import { errorRegistry, type ApiErrorCode } from './error-registry.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `code` is stable' });
export type Problem = z.infer<typeof problemSchema>;

const RESERVED = new Set(['type', 'title', 'status', 'detail', 'code', 'instance']);

export function problem(code: ApiErrorCode, detail: string, extensions: Record<string, unknown> = {}, instance?: string): Problem {
  const entry = errorRegistry[code];
  // Extensions never override the standard members (a domain `status` would break the answer).
  const extra = Object.fromEntries(Object.entries(extensions).filter(([key]) => !RESERVED.has(key)));
  return {
    type: `urn:order-store:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: entry.title,
    status: entry.status,
    detail,
    code,
    ...(instance !== undefined ? { instance } : {}),
    ...extra,
  };
}

/** A problem response for route schemas: documented as application/problem+json. */
export const problemResponse = { description: 'Problem details', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } };
