/**
 * The replay form's fields and checks, from the job type's payload JSON Schema (what jobscope
 * generates from the type's zod schema). Covers the keywords z.toJSONSchema writes for plain
 * fields (type, required, min/max length and value, pattern, format email/uri, enum); anything it
 * cannot say is left to the server, whose INVALID_PAYLOAD issues land next to the same fields.
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  description?: string;
}

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'json';

export interface PayloadField {
  name: string;
  kind: FieldKind;
  required: boolean;
  schema: JsonSchema;
}

/** The top-level fields of an object schema; undefined when the payload is no plain object (edit it as JSON). */
export function payloadFields(schema: unknown): PayloadField[] | undefined {
  const s = schema as JsonSchema | null;
  if (!s || s.type !== 'object' || !s.properties) return undefined;
  return Object.entries(s.properties).map(([name, field]) => {
    const type = Array.isArray(field.type) ? field.type.find((t) => t !== 'null') : field.type;
    const kind: FieldKind = type === 'string' || type === 'number' || type === 'integer' || type === 'boolean' ? type : 'json';
    return { name, kind, required: s.required?.includes(name) ?? false, schema: field };
  });
}

/** What the form's text becomes in the payload (undefined: left out). */
export function fieldValue(field: PayloadField, text: string): { value?: unknown; error?: string } {
  if (text === '' && field.kind !== 'boolean') return field.required ? { error: 'Required' } : {};
  switch (field.kind) {
    case 'boolean':
      return { value: text === 'true' };
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'Not a number' };
      if (field.kind === 'integer' && !Number.isInteger(n)) return { error: 'Must be a whole number' };
      return { value: n };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch (error) {
        return { error: `Not JSON: ${error instanceof Error ? error.message : String(error)}` };
      }
    case 'string':
      return { value: text };
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The first check `value` fails, in the words a person reads next to the field. */
export function checkValue(schema: JsonSchema, value: unknown): string | undefined {
  if (schema.enum && !schema.enum.some((v) => JSON.stringify(v) === JSON.stringify(value))) return `One of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return schema.minLength === 1 ? 'Must not be empty' : `At least ${schema.minLength} characters`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `At most ${schema.maxLength} characters`;
    if (schema.format === 'email' && !EMAIL.test(value)) return 'Not an email address';
    if (schema.format === 'uri') {
      try {
        new URL(value);
      } catch {
        return 'Not a URL';
      }
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return `Does not match ${schema.pattern}`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `At least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `At most ${schema.maximum}`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `More than ${schema.exclusiveMinimum}`;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `Less than ${schema.exclusiveMaximum}`;
  }
  return undefined;
}

/** The text a field starts with, from the original payload. */
export function fieldText(field: PayloadField, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}
