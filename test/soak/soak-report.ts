// The soak's counts and verdict, as a person reads them.
import type { SoakReport } from './run-soak.js';

const MAX_LISTED = 40;

export function formatSoakReport(report: SoakReport): string {
  const { load, streams, workers } = report;
  const lines = [
    `load: ${load.seconds.toFixed(1)} s, ${load.lifecyclesStarted} lifecycles started, ${load.lifecyclesCompleted} completed (${Object.entries(load.shapes)
      .map(([shape, n]) => `${n} ${shape}`)
      .join(', ')})`,
    `  ${load.requests} requests, ${load.acks} commands acknowledged (${report.ackedCommandsPerSecond.toFixed(1)}/s), ${load.lostAnswers} answers lost to kills, ${load.serverErrors} 5xx or 429 (retried), ${load.appliedWithoutAck} applied without an answer`,
    `kills: ${report.kills} SIGKILL; starts took ${report.startTimesMs.join(', ')} ms`,
  ];
  if (streams) {
    lines.push(`store: ${streams.orders} order streams, ${streams.orderEvents} events in ${streams.commands} commands; ${streams.acksChecked} acknowledged commands checked`);
  }
  if (workers) {
    lines.push(
      `workers: caught up in ${workers.catchUpSeconds.toFixed(1)} s; handled ${Object.entries(workers.handled)
        .map(([handler, n]) => `${handler} ${n}`)
        .join(', ')}`,
      `  ${workers.notifications} notifications, ${workers.whatsappMessages} WhatsApp messages, ${workers.unitsReserved} units reserved, ${workers.analyticsEvents} analytics events`,
      `  replayed read models: ${Object.entries(workers.replayedRows)
        .map(([projection, rows]) => `${projection} ${rows} rows`)
        .join(', ')}`,
      `  parked: ${
        Object.entries(workers.parked)
          .filter(([, n]) => n > 0)
          .map(([group, n]) => `${group} ${n}`)
          .join(', ') || `none in ${Object.keys(workers.parked).length} groups`
      }`,
    );
  }
  if (report.extraWorkerEvents.length) {
    lines.push(`  extra ROLE=workers processes processed ${report.extraWorkerEvents.join(', ')} events since their last start`);
  }
  if (report.violations.length === 0) {
    lines.push('OK: every acknowledged command is in its stream, no torn append, every handler and projection applied every event exactly once');
  } else {
    lines.push(`FAILED: ${report.violations.length} violations`);
    for (const violation of report.violations.slice(0, MAX_LISTED)) lines.push(`  - ${violation}`);
    if (report.violations.length > MAX_LISTED) lines.push(`  ... and ${report.violations.length - MAX_LISTED} more`);
    lines.push(`data directory and service log kept in ${report.workDir}`);
  }
  return lines.join('\n');
}
