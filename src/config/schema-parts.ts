import Type from 'typebox';

/*
 * The value types the schema of `authgate.yaml` is built from (schema.ts and its parts).
 */

/**
 * An integer from `minimum` to at most the largest safe integer. Ajv's `integer` alone lets
 * `.inf` and `1e309` (Infinity) through, and numbers past 2^53 that no count can be exact in,
 * nor be written back as digits (`1e+30` is what Redis would be sent).
 */
export const Count = (minimum: number, maximum: number = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ minimum, maximum });

export const Duration = Type.Union([Type.String({ minLength: 1 }), Count(0)], {
  description: 'a duration: seconds, or a string like "90s", "15m", "1h30m"',
});

export const StringList = Type.Array(Type.String({ minLength: 1 }));
