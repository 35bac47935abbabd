// Resource limits of the file readers: a table of defaults, overridden per call by the fields a
// caller sets. Only the table's own keys are taken, and only numbers, so an options object shared
// between readers (or holding `undefined`) never switches a limit off by accident.

export function withLimits<T extends { [K in keyof T]: number }>(defaults: Readonly<T>, options: object = {}): T {
  const out: Record<string, number> = { ...defaults };
  for (const key of Object.keys(defaults)) {
    const value = (options as Record<string, unknown>)[key];
    if (typeof value === "number" && !Number.isNaN(value)) out[key] = value;
  }
  return out as T;
}
