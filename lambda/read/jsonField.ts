/**
 * The value at `path` in a JSON object, or undefined when it has none.
 *
 * A field literally named `path` wins (`{"product.title": ...}`), because
 * such keys are common in flattened exports and the user typed that name;
 * otherwise a dotted path walks into nested objects, as jq's
 * `.product.title` does. Arrays are not walked into. Own fields only: a field
 * named "constructor" must not find Object's.
 */
export function jsonField(object: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(object, path)) return object[path];
  if (!path.includes('.')) return undefined;
  let value: unknown = object;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
