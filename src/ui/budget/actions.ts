/** The budget editor's presets: uniform (nothing edited) and OWL (computed by the engine for the loaded model and calibration). */
import { runJob } from '../actions';
import { useBudget } from '../stores/budget';
import { useSession } from '../stores/session';
import { calibrationSettings, pruneSettings, useSettings } from '../stores/settings';

export function applyUniformPreset(): void {
  useBudget.getState().replace({}, 'uniform');
}

export async function applyOwlPreset(): Promise<void> {
  const s = useSettings.getState();
  if (s.method === 'spap' || s.patternKind !== 'unstructured') {
    useSession.getState().addBanner('info', 'OWL needs an unstructured target', 'Choose one of the unstructured methods and the Unstructured pattern: an N:M pattern fixes every layer’s count.');
    return;
  }
  // The dense pass is the same JobKind as a layer problem's export: calibration windows through the dense model, nothing pruned.
  const owl = await runJob('exportLayerProblem', 'Measuring OWL outlier ratios', { type: 'owlBudget', settings: pruneSettings({ ...s, profile: 'uniform' }, s.method), calibration: calibrationSettings(s) });
  if (!owl) return;
  useBudget.getState().replace(owl.sparsities, 'owl');
  useSettings.getState().set({ profile: 'custom' });
}
