/**
 * Unrolling for WGSL templates. A block `//#for X` … `//#end` (nestable) is repeated for
 * X = 0…counts[X]−1 with every `{X}` inside replaced by the index. Kernels unroll small fixed loops
 * this way so that per-iteration values live in named registers: SwiftShader spills a
 * function-scope array indexed by a loop variable to memory.
 */
export function expandTemplate(source: string, counts: Record<string, number>): string {
  const lines = source.split('\n');
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
