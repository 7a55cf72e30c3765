/**
 * Edits of a JSON document that keep its text: only the values of the named top-level members
 * change, so everything else (key order, spacing, and number spellings such as `3.0`, which
 * transformers' typed configs insist on) stays byte for byte.
 */

interface MemberSpan {
  /** Start and end (exclusive) of the member's value in the text. */
  start: number;
  end: number;
}

function skipString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  throw new SyntaxError('unterminated string');
}

/** The value spans of the top-level object's members, by key. */
function topLevelMembers(text: string): { members: Map<string, MemberSpan>; close: number } {
  const members = new Map<string, MemberSpan>();
  let i = text.indexOf('{');
  if (i < 0) throw new SyntaxError('not a JSON object');
  i++;
  let depth = 1;
  let key: string | null = null;
  let valueStart = -1;
  const finish = (end: number) => {
    if (key !== null && valueStart >= 0) members.set(key, { start: valueStart, end: trimEnd(text, end) });
    key = null;
    valueStart = -1;
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = skipString(text, i);
      if (depth === 1 && key === null) key = JSON.parse(text.slice(i, end)) as string;
      else if (depth === 1 && valueStart < 0) valueStart = i;
      i = end;
      continue;
    }
    if (depth === 1 && c === 0x3a) {
      // ':' — the value starts at the next non-space character.
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      valueStart = j;
      i = j;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) {
        finish(i);
        return { members, close: i };
      }
    } else if (c === 0x2c && depth === 1) finish(i);
    i++;
  }
  throw new SyntaxError('unterminated object');
}

function trimEnd(text: string, end: number): number {
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  return end;
}

/**
 * `text` with the top-level members of `patch` set: existing values replaced in place, missing
 * members appended. The result parses to `{ ...JSON.parse(text), ...patch }` (checked).
 */
export function patchJsonText(text: string, patch: Record<string, number | string | boolean | object>): string {
  const { members, close } = topLevelMembers(text);
  const edits = Object.entries(patch)
    .filter(([key]) => members.has(key))
    .map(([key, value]) => ({ ...members.get(key)!, value: JSON.stringify(value) }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  let closeAt = close;
  for (const e of edits) {
    out = out.slice(0, e.start) + e.value + out.slice(e.end);
    if (e.start < closeAt) closeAt += e.value.length - (e.end - e.start);
  }
  const added = Object.entries(patch).filter(([key]) => !members.has(key));
  if (added.length) {
    const body = trimEnd(out, closeAt);
    const empty = out[body - 1] === '{';
    const lines = added.map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(',\n');
    out = out.slice(0, body) + (empty ? '\n' : ',\n') + lines + '\n' + out.slice(closeAt);
  }
  const expected = JSON.stringify({ ...(JSON.parse(text) as object), ...patch });
  if (JSON.stringify(JSON.parse(out)) !== expected) throw new Error('config.json could not be patched in place.');
  return out;
}

/** `text` without the top-level member `key` (unchanged when there is none); the rest keeps its text. */
export function removeJsonMember(text: string, key: string): string {
  const { members } = topLevelMembers(text);
  const span = members.get(key);
  if (!span) return text;
  // From the end of the previous value (or the opening brace) to the end of this one: the comma, the key and the value go.
  const before = [...members.values()].filter((m) => m.end <= span.start).reduce((at, m) => Math.max(at, m.end), -1);
  let out: string;
  if (before >= 0) out = text.slice(0, before) + text.slice(span.end);
  else {
    // The first member: take it and the comma after it (if another member follows).
    const open = text.indexOf('{') + 1;
    let end = span.end;
    while (end < text.length && /\s/.test(text[end])) end++;
    if (text[end] === ',') end++;
    out = text.slice(0, open) + text.slice(end);
  }
  const expected = JSON.parse(text) as Record<string, unknown>;
  delete expected[key];
  if (JSON.stringify(JSON.parse(out)) !== JSON.stringify(expected)) throw new Error(`config.json: ${key} could not be removed in place.`);
  return out;
}
