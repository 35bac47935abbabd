// Text from a file (tensor names, shard paths, dtypes, parser messages) put into an error message:
// control characters are escaped so no raw byte reaches the terminal, and long text and long lists
// are cut so a hostile file cannot make a one-line error megabytes long. Pure TS.

/** Longest quoted name kept whole: real tensor names stay well under it (timm's longest ~70). */
const MAX_QUOTED_CHARS = 120;
/** Items of a list shown before "... and N more". */
const MAX_LISTED_ITEMS = 8;

/** `text` with control characters (C0, DEL, C1, line/paragraph separators) as \xNN / \uNNNN escapes, cut to `max` chars. */
export function escapeText(text: string, max = MAX_QUOTED_CHARS): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  // eslint-disable-next-line no-control-regex
  const escaped = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return text.length > max ? `${escaped}... (${text.length} chars)` : escaped;
}

/** Longest file path kept whole in a message; longer paths keep their end, where the file name is. */
const MAX_PATH_CHARS = 160;

/** A file path (or "<buffer>") for a message: control characters escaped, a long path cut at its start. */
export function escapePath(path: string): string {
  const cut = path.length > MAX_PATH_CHARS ? `...${path.slice(-MAX_PATH_CHARS)}` : path;
  return escapeText(cut, MAX_PATH_CHARS + 3);
}

/** A name from a file in single quotes, escaped and cut (see escapeText). */
export function quote(value: unknown, max = MAX_QUOTED_CHARS): string {
  return `'${escapeText(String(value), max)}'`;
}

/** "a, b, c" or "a, b, ... and 1499990 more": at most `max` items, each escaped. */
export function listSome(items: Iterable<unknown>, max = MAX_LISTED_ITEMS, separator = ", "): string {
  const shown: string[] = [];
  let count = 0;
  for (const item of items) {
    if (count++ < max) shown.push(escapeText(String(item)));
  }
  return count > max ? `${shown.join(separator)}${separator}... and ${count - max} more` : shown.join(separator);
}
