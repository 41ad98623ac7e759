import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileResponseJson } from '../../../src/api/response-json.js';
import { problemSchema } from '../../../src/api/problem.js';
import { customerOrdersSchema, orderSummaryPage, outboxSchema, salesReportSchema, stockLevelSchema } from '../../../src/api/query-schemas.js';

/** Any value of `schema`, its objects carrying keys the schema does not list as well. */
function valueOf(schema: z.ZodType): fc.Arbitrary<unknown> {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'string': {
      // A constrained string (an exact sum's digits): one zod accepts.
      const checks = (def.checks as unknown[] | undefined) ?? [];
      return checks.length > 0 ? fc.bigInt().map(String) : fc.string();
    }
    case 'number':
      return fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.constantFrom(...Object.values(def.entries as Record<string, string>));
    case 'literal':
      return fc.constantFrom(...(def.values as unknown[]));
    case 'unknown':
    case 'any':
      return fc.jsonValue();
    case 'nullable':
      return fc.option(valueOf(def.innerType as z.ZodType), { nil: null });
    case 'optional':
      return fc.option(valueOf(def.innerType as z.ZodType), { nil: undefined });
    case 'array':
      return fc.array(valueOf(def.element as z.ZodType), { maxLength: 4 });
    case 'record':
      return fc.dictionary(fc.string(), valueOf(def.valueType as z.ZodType), { maxKeys: 3 });
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      const listed = fc.record(Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, valueOf(field)])));
      const extra = fc.dictionary(fc.string().filter((key) => !(key in shape) && key !== '__proto__'), fc.jsonValue(), { maxKeys: 2 });
      // Extra keys first and last: neither their place nor their presence may show in the answer.
      return fc.tuple(extra, listed, extra).map(([before, fields, after]) => ({ ...before, ...fields, ...after }));
    }
    default:
      throw new Error(`no arbitrary for ${def.type}`);
  }
}

const readSchemas = { orderSummaryPage, customerOrdersSchema, stockLevelSchema, salesReportSchema, outboxSchema };

describe('a read answer as JSON', () => {
  for (const [name, schema] of Object.entries(readSchemas)) {
    it(`is what zod's response encode would send for any ${name}: the same fields, in the same order, nothing else`, () => {
      const write = compileResponseJson(schema);
      expect(write).toBeDefined();
      fc.assert(
        fc.property(valueOf(schema), (value) => {
          expect(write!(value)).toBe(JSON.stringify(z.encode(schema, value as never)));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('leaves out a field the schema does not list, however deep', () => {
    const write = compileResponseJson(orderSummaryPage)!;
    const summary = { orderId: 'o-1', tenantId: 't', customerId: null, customerName: null, status: 'PAID', currency: 'EUR', total: 1, paidAmount: 1, refundedAmount: 0, itemCount: 1, createdAt: 'a', updatedAt: 'b', revision: 2 };
    const sent = write({ items: [{ ...summary, secret_column: 'x' }], internal: 1 });
    expect(sent).toBe(JSON.stringify({ items: [summary] }));
  });

  it("sends a record's own __proto__ key (JSON.parse makes one) as zod does: not at all", () => {
    const write = compileResponseJson(outboxSchema)!;
    const row = { id: 0, orderId: '', eventId: '', recipient: '', template: '', status: 'queued', providerMessageId: null, attempts: 0, lastError: null, settledBy: null, message: JSON.parse('{"__proto__":[],"text":"hi"}') as unknown, createdAt: '', updatedAt: '' };
    const value = { items: [row] };
    expect(write(value)).toBe(JSON.stringify(z.encode(outboxSchema, value as never)));
    expect(write(value)).toContain('"message":{"text":"hi"}');
  });

  it('gives no writer for a schema it does not cover (zod serializes those)', () => {
    expect(compileResponseJson(z.object({ a: z.string().transform((text) => text.length) }))).toBeUndefined();
    expect(compileResponseJson(z.union([z.string(), z.number()]))).toBeUndefined();
    expect(compileResponseJson(z.looseObject({ a: z.string() }))).toBeUndefined();
    expect(compileResponseJson(problemSchema)).toBeUndefined();
    expect(compileResponseJson(z.object({ a: z.string().default('x') }))).toBeUndefined();
  });
});
