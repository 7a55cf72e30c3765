/**
 * The budget editor's per-layer sparsities (layer id → sparsity; a layer absent takes the target),
 * whether edits are shifted to the uniform target's exact count, and where the values came from.
 * Kept per tab like a pasted text: 200+ numbers do not belong in the URL.
 */
import { create } from 'zustand';
import { layerMapProfile, type SparsityProfile } from '../../shared/budget';

export type BudgetSource = 'uniform' | 'owl' | 'edited';

interface BudgetStore {
  sparsities: Record<string, number>;
  exact: boolean;
  source: BudgetSource;
  setLayer(id: string, sparsity: number): void;
  replace(sparsities: Record<string, number>, source: BudgetSource): void;
  setExact(exact: boolean): void;
}

export const useBudget = create<BudgetStore>((set) => ({
  sparsities: {},
  exact: true,
  source: 'uniform',
  setLayer: (id, sparsity) => set((s) => ({ sparsities: { ...s.sparsities, [id]: sparsity }, source: 'edited' })),
  replace: (sparsities, source) => set({ sparsities, source }),
  setExact: (exact) => set({ exact }),
}));

/** The whole-model run's profile for the edited budget (uniform when nothing was edited). */
export function budgetProfile(): SparsityProfile {
  const { sparsities, exact } = useBudget.getState();
  return layerMapProfile(sparsities, exact);
}
