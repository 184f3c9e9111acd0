/**
 * Shallow copy of a protobuf-es message (or any object). proto3 messages are
 * plain objects, copied with a spread (V8's fast clone path); objects with
 * another prototype (proto2 default values live there) keep it.
 */
export function shallowCopy<T extends object>(m: T): T {
  const proto: unknown = Object.getPrototypeOf(m);
  if (proto === Object.prototype) return { ...m };
  return Object.assign(Object.create(proto as object) as T, m);
}
