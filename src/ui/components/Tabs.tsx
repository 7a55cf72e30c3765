/** The main area's tabs, with counts where there is something to see: one row, scrolling sideways on its own where it does not fit. */
import { useEffect, useRef } from 'react';
import { useResults } from '../stores/results';
import { useSession, type Tab } from '../stores/session';

export function Tabs() {
  const tab = useSession((s) => s.tab);
  const setTab = useSession((s) => s.setTab);
  const job = useSession((s) => s.job);
  const layerRuns = useResults((s) => s.layerRuns.length);
  const modelRun = useResults((s) => s.modelRun?.report.length ?? 0);
  const structuredBlocks = useResults((s) => s.structuredRun?.report.length ?? 0);
  const strip = useRef<HTMLElement>(null);
  // A tab opened by an action (a run opens Live) is scrolled into the strip's view.
  useEffect(() => {
    const button = strip.current?.querySelector<HTMLElement>('[aria-selected="true"]');
    const bar = strip.current;
    if (!button || !bar || bar.scrollWidth <= bar.clientWidth) return;
    const [b, r] = [button.getBoundingClientRect(), bar.getBoundingClientRect()];
    bar.scrollLeft += b.left - r.left - (r.width - b.width) / 2;
  }, [tab]);
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
    <nav className="tabs" role="tablist" ref={strip}>
      {tabs.map((t) => (
        <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'active' : ''} data-testid={`tab-button-${t.id}`} onClick={() => setTab(t.id)}>
          {t.label}
        </button>
      ))}
    </nav>
  );
}
