import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, settingsFromQuery, settingsToQuery, pruneSettings, structuredSettings } from '../src/ui/stores/settings';

describe('studio settings in the URL: SPAP', () => {
  it('reads the method, fraction, selection and penalty schedule, and writes them back', () => {
    const parsed = settingsFromQuery('?method=spap&channels=0.3&selection=activation-norm&spapRho0=0.01&spapGrowth=2&spapSteps=40');
    expect(parsed).toMatchObject({ method: 'spap', channelFraction: 0.3, selection: 'activation-norm', spap: { rho0: 0.01, growth: 2, maxSteps: 40 } });
    const settings = { ...DEFAULT_SETTINGS, ...parsed };
    expect(settingsFromQuery(settingsToQuery(settings))).toEqual(parsed);
    expect(structuredSettings(settings)).toEqual({ selection: 'activation-norm', fraction: 0.3, spap: { rho0: 0.01, growth: 2, maxSteps: 40 } });
  });

  it('clamps the fraction to the slider and ignores values that cannot work', () => {
    expect(settingsFromQuery('?channels=0.95').channelFraction).toBe(0.6);
    expect(settingsFromQuery('?channels=0').channelFraction).toBe(0.05);
    const bad = settingsFromQuery('?method=obs&selection=random&spapGrowth=0.9&spapRho0=-1');
    expect(bad.method).toBeUndefined();
    expect(bad.selection).toBeUndefined();
    // ρ must grow and start positive; the defaults stay.
    expect(bad.spap).toBeUndefined();
  });

  it('leaves defaults out of the query', () => {
    expect(settingsToQuery(DEFAULT_SETTINGS)).toBe('');
    expect(settingsToQuery({ ...DEFAULT_SETTINGS, method: 'spap' })).toBe('?method=spap');
  });
});

describe('studio settings in the URL: swap refinement', () => {
  it('reads refinement, its swaps budget and the Compare toggle, writes them back, and hands the budget to the engine', () => {
    const parsed = settingsFromQuery('?method=wanda&refine=swaps&swaps=40&compareSwaps=both');
    expect(parsed).toMatchObject({ method: 'wanda', refine: 'swaps', refineSwaps: 40, compareRefine: 'both' });
    const settings = { ...DEFAULT_SETTINGS, ...parsed };
    expect(settingsFromQuery(settingsToQuery(settings))).toEqual(parsed);
    expect(pruneSettings(settings, 'wanda').refine).toEqual({ swaps: 40 });
    expect(pruneSettings(DEFAULT_SETTINGS, 'wanda').refine).toBeUndefined();
  });

  it('ignores unknown kinds and bounds the budget', () => {
    expect(settingsFromQuery('?refine=anneal&compareSwaps=yes')).toEqual({});
    expect(settingsFromQuery('?swaps=0').refineSwaps).toBe(1);
    expect(settingsFromQuery('?swaps=12.6').refineSwaps).toBe(13);
    expect(settingsToQuery({ ...DEFAULT_SETTINGS, refine: 'swaps' })).toBe('?refine=swaps');
  });
});
