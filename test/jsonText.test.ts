import { describe, expect, it } from 'vitest';
import { patchJsonText } from '../src/formats/jsonText';

describe('patchJsonText: config.json edited in place', () => {
  const config = '{\n  "architectures": ["Gemma3ForCausalLM"],\n  "final_logit_softcapping": 3.0,\n  "intermediate_size": 64,\n  "rope_parameters": {"full_attention": {"rope_theta": 10000.0}, "intermediate_size": 7},\n  "name": "a \\"quoted\\", {tricky} value",\n  "vocab_size": 512\n}\n';

  it('replaces only the patched top-level values and keeps every other byte', () => {
    const out = patchJsonText(config, { intermediate_size: 45 });
    expect(out).toBe(config.replace('"intermediate_size": 64', '"intermediate_size": 45'));
    expect(out).toContain('"final_logit_softcapping": 3.0');
    // The nested member of the same name is not touched.
    expect(JSON.parse(out).rope_parameters.intermediate_size).toBe(7);
  });

  it('patches the last member, several members, and appends missing ones', () => {
    const out = patchJsonText(config, { vocab_size: 600, intermediate_size: 1, n_inner: 96 });
    const parsed = JSON.parse(out);
    expect(parsed.vocab_size).toBe(600);
    expect(parsed.intermediate_size).toBe(1);
    expect(parsed.n_inner).toBe(96);
    expect(out).toContain('"final_logit_softcapping": 3.0');
    expect(patchJsonText('{}', { n_inner: 3 })).toBe('{\n  "n_inner": 3\n}');
    expect(JSON.parse(patchJsonText('{"a": 1}', { b: 2 }))).toEqual({ a: 1, b: 2 });
  });

  it('refuses text that is not a JSON object', () => {
    expect(() => patchJsonText('[1, 2]', { a: 1 })).toThrow();
    expect(() => patchJsonText('{"a": "x', { a: 1 })).toThrow();
  });
});
