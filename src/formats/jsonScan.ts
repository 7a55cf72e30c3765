/**
 * A linear pre-scan of JSON text, so that a hostile header's entry count is known (and refused)
 * before JSON.parse builds millions of objects from it.
 */

/**
 * Members of the top-level JSON object in `text`: the commas at depth 1, plus one when the object
 * is not empty. Stops counting once past `limit`. Only an estimate for malformed text (JSON.parse
 * then says what is wrong); exact for valid JSON, since strings (with escapes) are skipped.
 */
export function countTopLevelMembers(text: string, limit: number): number {
  let depth = 0;
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, stepping over escapes.
      if (depth === 1 && members === 0) members = 1;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      if (++members > limit) return members;
    }
  }
  return members;
}
