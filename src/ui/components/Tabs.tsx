/** The main area's tabs, with counts where there is something to see. */
import { useResults } from '../stores/results';
import { useSession, type Tab } from '../stores/session';

export function Tabs() {
  const tab = useSession((s) => s.tab);
  const setTab = useSession((s) => s.setTab);
  const job = useSession((s) => s.job);
  const layerRuns = useResults((s) => s.layerRuns.length);
  const modelRun = useResults((s) => s.modelRun?.report.length ?? 0);
  const structuredBlocks = useResults((s) => s.structuredRun?.report.length ?? 0);
  const tabs: { id: Tab; label: string }[] = [
    { id: 'overview', label: 'Model' },
    { id: 'live', label: job && (job.kind === 'pruneLayer' || job.kind === 'pruneModel' || job.kind === 'pruneStructured') ? 'Live ●' : 'Live' },
    { id: 'layers', label: layerRuns + modelRun ? `Layers (${layerRuns + modelRun})` : 'Layers' },
    { id: 'channels', label: structuredBlocks ? `Channels (${structuredBlocks} blocks)` : 'Channels' },
    { id: 'compare', label: 'Compare' },
    { id: 'evaluate', label: 'Evaluate' },
    { id: 'download', label: 'Download' },
  ];
  return (
    <nav className="tabs" role="tablist">
      {tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'active' : ''} data-testid={`tab-button-${t.id}`} onClick={() => setTab(t.id)}>
          {t.label}
        </button>
      ))}
    </nav>
  );
}
