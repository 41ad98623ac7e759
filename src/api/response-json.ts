// Read routes' answers as JSON without zod's encode pass. The answer of a GET is built by our own
// typed code from the read models (TypeScript checks its shape), so checking every field of every
// answer again is CPU spent for nothing: with zod's encode and JSON.stringify it was 8-10% of the
// API thread's CPU a read. The writer compiled here from the route's zod schema keeps what the
// encode kept: the fields the schema lists, in its order, an optional field left out when
// undefined, nothing the schema does not list (no internal column leaks into an answer). A schema
// with anything else (a transform, a union, a default, ...) gets no writer: zod serializes it.
import type { z } from 'zod';

/** Turns a value of the schema into what JSON.stringify(z.encode(schema, value)) would be given. */
type Pick = (value: unknown) => unknown;

const asIs: Pick = (value) => value;

/** A picker for `schema`, or undefined when it has a kind this does not cover. */
function pickerOf(schema: z.ZodType): Pick | undefined {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
    case 'null':
    case 'unknown':
    case 'any':
      return asIs;
    case 'nullable':
    case 'optional': {
      const inner = pickerOf(def.innerType as z.ZodType);
      if (!inner) return undefined;
      return inner === asIs ? asIs : (value) => (value === null || value === undefined ? value : inner(value));
    }
    case 'array': {
      const element = pickerOf(def.element as z.ZodType);
      if (!element) return undefined;
      return element === asIs ? asIs : (value) => (value as unknown[]).map(element);
    }
    case 'record': {
      const keyType = (def.keyType as z.ZodType)._zod.def.type;
      const valueOf = pickerOf(def.valueType as z.ZodType);
      if (keyType !== 'string' || !valueOf) return undefined;
      const copy = (value: unknown) => {
        // Assigned as zod assigns them: an own `__proto__` key (JSON.parse makes one) sets the
        // copy's prototype instead, so it is not sent, as zod's encode does not send it.
        const out: Record<string, unknown> = {};
        for (const [key, entry] of Object.entries(value as Record<string, unknown>)) out[key] = valueOf(entry);
        return out;
      };
      if (valueOf === asIs) return (value) => (Object.hasOwn(value as object, '__proto__') ? copy(value) : value);
      return copy;
    }
    case 'object': {
      // A loose or strict object's catchall is not covered (a strict one refuses extra keys).
      if (def.catchall !== undefined) return undefined;
      const fields: Array<[string, Pick]> = [];
      for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        const pick = pickerOf(field);
        if (!pick) return undefined;
        fields.push([key, pick]);
      }
      return (value) => {
        const source = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [key, pick] of fields) {
          const entry = source[key];
          // JSON.stringify leaves an undefined field out too; keeping it out keeps the order.
          if (entry !== undefined) out[key] = pick(entry);
        }
        return out;
      };
    }
    default:
      return undefined;
  }
}

/**
 * A JSON writer for answers of `schema`, or undefined when the schema has a kind it does not
 * cover. The writer checks nothing: use it for answers our own code builds, typed by the schema.
 */
export function compileResponseJson(schema: z.ZodType): ((value: unknown) => string) | undefined {
  const pick = pickerOf(schema);
  return pick ? (value) => JSON.stringify(pick(value)) : undefined;
}
