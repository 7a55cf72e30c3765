/**
 * Unrolling for WGSL templates. A block `//#for X` … `//#end` (nestable) is repeated for
 * X = 0…counts[X]−1 with every `{X}` inside replaced by the index. Kernels unroll small fixed loops
 * this way so that per-iteration values live in named registers: SwiftShader spills a
 * function-scope array indexed by a loop variable to memory. A block `//#def NAME` … `//#enddef`
 * is emitted nowhere itself; each line `//#use NAME` is replaced by it (before the loops are
 * expanded, so a definition may hold loops and be used inside one): one loop body can then appear
 * both in an unrolled main loop and in the loop over the remainder.
 */
export function expandTemplate(source: string, counts: Record<string, number>): string {
  const lines = inlineDefinitions(source.split('\n'));
  const opens = (line: string) => /^\s*\/\/#for (\w+)\s*$/.exec(line);
  const closes = (line: string) => /^\s*\/\/#end\s*$/.test(line);
  const expand = (from: number, to: number, env: Record<string, number>): string[] => {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const open = opens(lines[i]);
      if (!open) {
        if (closes(lines[i])) throw new Error(`template: unmatched //#end at line ${i + 1}`);
        out.push(lines[i].replace(/\{(\w+)\}/g, (m, name: string) => (name in env ? String(env[name]) : m)));
        continue;
      }
      let depth = 1;
      let j = i + 1;
      for (; j < to; j++) {
        if (opens(lines[j])) depth++;
        else if (closes(lines[j]) && --depth === 0) break;
      }
      if (j >= to) throw new Error(`template: //#for at line ${i + 1} is not closed`);
      const name = open[1];
      const count = counts[name];
      if (count === undefined) throw new Error(`template: no count for //#for ${name}`);
      for (let k = 0; k < count; k++) out.push(...expand(i + 1, j, { ...env, [name]: k }));
      i = j;
    }
    return out;
  };
  return expand(0, lines.length, {}).join('\n');
}

/** Removes the `//#def` blocks and puts each in place of its `//#use` lines. */
function inlineDefinitions(lines: string[]): string[] {
  const defs = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const def = /^\s*\/\/#def (\w+)\s*$/.exec(lines[i]);
    if (!def) {
      if (/^\s*\/\/#enddef\s*$/.test(lines[i])) throw new Error(`template: unmatched //#enddef at line ${i + 1}`);
      rest.push(lines[i]);
      continue;
    }
    const end = lines.findIndex((line, j) => j > i && /^\s*\/\/#(enddef|def \w+)\s*$/.test(line));
    if (end < 0 || !/#enddef/.test(lines[end])) throw new Error(`template: //#def ${def[1]} at line ${i + 1} is not closed by //#enddef`);
    defs.set(def[1], lines.slice(i + 1, end));
    i = end;
  }
  return rest.flatMap((line) => {
    const use = /^\s*\/\/#use (\w+)\s*$/.exec(line);
    if (!use) return [line];
    const body = defs.get(use[1]);
    if (!body) throw new Error(`template: //#use ${use[1]} has no //#def`);
    return body;
  });
}
