/** The studio: settings on the left, results in tabs on the right. */
import { useEffect } from 'react';
import { startStudio } from './actions';
import { Banners } from './components/Banners';
import { GpuNotice } from './components/GpuNotice';
import { Header } from './components/Header';
import { JobBar } from './components/JobBar';
import { Tabs } from './components/Tabs';
import { CalibrationPanel } from './sidebar/CalibrationPanel';
import { ModelPanel } from './sidebar/ModelPanel';
import { PrunePanel } from './sidebar/PrunePanel';
import { useSession } from './stores/session';
import { ChannelsTab } from './tabs/ChannelsTab';
import { CompareTab } from './tabs/CompareTab';
import { DownloadTab } from './tabs/DownloadTab';
import { EvaluateTab } from './tabs/EvaluateTab';
import { LayersTab } from './tabs/LayersTab';
import { LiveTab } from './tabs/LiveTab';
import { OverviewTab } from './tabs/OverviewTab';

export function App() {
  const tab = useSession((s) => s.tab);
  const jobsFinished = useSession((s) => s.jobsFinished);
  useEffect(() => startStudio(), []);
  return (
    <div className="app" data-testid="app" data-jobs-finished={jobsFinished}>
      <Header />
      <div className="layout">
        <aside className="sidebar">
          <ModelPanel />
          <CalibrationPanel />
          <PrunePanel />
        </aside>
        <main className="main">
          <GpuNotice />
          <Banners />
          <JobBar />
          <Tabs />
          <div className="tab-body" data-testid={`tab-${tab}`}>
            {tab === 'overview' ? <OverviewTab /> : null}
            {tab === 'live' ? <LiveTab /> : null}
            {tab === 'layers' ? <LayersTab /> : null}
            {tab === 'channels' ? <ChannelsTab /> : null}
            {tab === 'compare' ? <CompareTab /> : null}
            {tab === 'evaluate' ? <EvaluateTab /> : null}
            {tab === 'download' ? <DownloadTab /> : null}
          </div>
        </main>
      </div>
    </div>
  );
}
