/** The studio: settings on the left (a drawer on narrow screens), results in tabs on the right; the first-visit tour. */
import { useEffect } from 'react';
import { startStudio } from './actions';
import { Banners } from './components/Banners';
import { GpuNotice } from './components/GpuNotice';
import { Header } from './components/Header';
import { JobBar } from './components/JobBar';
import { Tabs } from './components/Tabs';
import { Tour } from './help/Tour';
import { CalibrationPanel } from './sidebar/CalibrationPanel';
import { ModelPanel } from './sidebar/ModelPanel';
import { PrunePanel } from './sidebar/PrunePanel';
import { SettingsBar, Sidebar } from './sidebar/Sidebar';
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
        <Sidebar>
          <ModelPanel />
          <CalibrationPanel />
          <PrunePanel />
        </Sidebar>
        <main className="main">
          <SettingsBar />
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
      <Tour />
    </div>
  );
}
