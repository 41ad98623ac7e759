// EventStoreDB's HTTP endpoints that tools rely on, with its paths and shapes: /ping,
// /health/live, /info, /gossip, /stats, /metrics.
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { UiContext } from './ui-pages.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { Authorizer } from '../auth/acl.js';

export interface EndpointContext extends UiContext {
  host: string;
  port: number;
  instanceId: string;
  authenticator: Authenticator;
  /** Stream ACLs for the UI's stream and event pages (an operator who is not in $admins reads what the ACLs let it). */
  authorizer?: Authorizer;
}

export const ping = () => ({ text: 'Ping request successfully handled' });

export function info(context: EndpointContext) {
  return {
    esVersion: context.version,
    state: 'leader',
    features: { projections: true, userManagement: context.authenticator.secured, atomPub: false },
    // EventStoreDB's names: `internal` (its own users) when secured, `insecure` under --insecure.
    authentication: { type: context.authenticator.secured ? 'internal' : 'insecure', properties: {} },
  };
}

export function gossip(context: EndpointContext) {
  const head = context.log.headPosition();
  return {
    members: [
      {
        instanceId: context.instanceId,
        timeStamp: new Date().toISOString(),
        state: 'Leader',
        isAlive: true,
        internalTcpIp: context.host,
        internalTcpPort: 0,
        internalSecureTcpPort: 0,
        externalTcpIp: context.host,
        externalTcpPort: 0,
        externalSecureTcpPort: 0,
        httpEndPointIp: context.host,
        httpEndPointPort: context.port,
        lastCommitPosition: head,
        writerCheckpoint: head,
        chaserCheckpoint: head,
        epochPosition: 0,
        epochNumber: 0,
        epochId: '00000000-0000-0000-0000-000000000000',
        nodePriority: 0,
        isReadOnlyReplica: false,
        esVersion: context.version,
      },
    ],
    serverIp: context.host,
    serverPort: context.port,
  };
}

export function stats(context: EndpointContext) {
  const memory = process.memoryUsage();
  const usage = process.cpuUsage();
  const traffic = context.metrics.traffic();
  const rates = context.metrics.rates();
  const uptimeSeconds = (Date.now() - context.startedAt) / 1000;
  const [one, five, fifteen] = loadavg();
  return {
    proc: {
      startTime: new Date(context.startedAt).toISOString(),
      id: process.pid,
      mem: memory.rss,
      heapUsed: memory.heapUsed,
      cpu: Number((((usage.user + usage.system) / 1e6 / Math.max(0.001, process.uptime())) * 100).toFixed(2)),
      threadsCount: cpus().length,
      uptimeSeconds: Math.round(uptimeSeconds),
    },
    sys: {
      cpu: Number(((one! / Math.max(1, cpus().length)) * 100).toFixed(2)),
      freeMem: freemem(),
      totalMem: totalmem(),
      loadavg: { '1m': one, '5m': five, '15m': fifteen },
    },
    es: {
      checksum: context.log.headPosition(),
      checksumNonFlushed: context.log.headPosition(),
      queue: {
        StorageWriterQueue: {
          queueName: 'StorageWriterQueue',
          groupName: '',
          length: context.metrics.writerQueue(),
          avgItemsPerSecond: Math.round(rates.appendsPerSecond),
          totalItemsProcessed: traffic.appends,
        },
        StorageReaderQueue: {
          queueName: 'StorageReaderQueue',
          groupName: '',
          length: 0,
          avgItemsPerSecond: Math.round(rates.readsPerSecond),
          totalItemsProcessed: traffic.reads,
        },
      },
      writer: { appendedEvents: traffic.appendedEvents },
      readIndex: { readEvents: traffic.readEvents },
      subscriptions: { catchUp: context.metrics.catchUpSubscriptions(), persistentGroups: context.groups.list().length },
    },
  };
}
