// Persistent-subscription protocol messages built from the client's own generated classes.
import type { RecordedEvent, ResolvedEvent } from '../log/types.js';
import { fillRecordedEvent, type UuidFormat } from '../grpc/conversions.js';
import { encodeEventResponse } from '../grpc/read-event-encoding.js';
import { sharedPb } from '../grpc/protocol.js';
import { persistentPb } from './requests.js';
import type { GroupDefinition, StartFrom } from './definition.js';
import type { GroupStats } from './subscription-group.js';

type ReadResp = InstanceType<typeof persistentPb.ReadResp>;
type SubscriptionInfo = InstanceType<typeof persistentPb.SubscriptionInfo>;

function recordedEvent(event: RecordedEvent, uuidFormat: UuidFormat): InstanceType<typeof persistentPb.ReadResp.ReadEvent.RecordedEvent> {
  return fillRecordedEvent(new persistentPb.ReadResp.ReadEvent.RecordedEvent(), event, uuidFormat);
}

/**
 * The message per delivered event, encoded straight into bytes (building google-protobuf objects
 * costs more than everything else per event): the Streams encoding of ReadResp{event}, whose
 * ReadEvent has the same fields here, with retry_count. Structured UUIDs, which the 6.x client
 * never asks for, go through google-protobuf.
 */
export function eventMessage(resolved: ResolvedEvent, retryCount: number, uuidFormat: UuidFormat): ReadResp | Buffer {
  if (uuidFormat === 'structured') return eventObject(resolved, retryCount, uuidFormat);
  return encodeEventResponse(resolved, retryCount);
}

function eventObject(resolved: ResolvedEvent, retryCount: number, uuidFormat: UuidFormat): ReadResp {
  const message = new persistentPb.ReadResp.ReadEvent().setCommitPosition(String(resolved.position)).setRetryCount(retryCount);
  if (resolved.event) message.setEvent(recordedEvent(resolved.event, uuidFormat));
  if (resolved.link) message.setLink(recordedEvent(resolved.link, uuidFormat));
  return new persistentPb.ReadResp().setEvent(message);
}

export function confirmationMessage(subscriptionId: string): ReadResp {
  return new persistentPb.ReadResp().setSubscriptionConfirmation(new persistentPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId));
}

/** Positions as the client parses them: a revision for a stream, "C:x/P:y" for $all. */
function positionText(definition: GroupDefinition, key: number | undefined): string {
  if (key === undefined) return '';
  return definition.source.kind === 'all' ? `C:${key}/P:${key}` : String(key);
}

function startFromText(definition: GroupDefinition, startFrom: StartFrom): string {
  const all = definition.source.kind === 'all';
  switch (startFrom.kind) {
    case 'start':
      return all ? 'C:0/P:0' : '0';
    case 'end':
      return all ? 'C:-1/P:-1' : '-1';
    case 'at':
      return all ? `C:${startFrom.value}/P:${startFrom.value}` : String(startFrom.value);
  }
}

export function subscriptionInfo(definition: GroupDefinition, stats: GroupStats): SubscriptionInfo {
  const { settings } = definition;
  const connections = stats.connections.map((connection) =>
    new persistentPb.SubscriptionInfo.ConnectionInfo()
      .setFrom(connection.from)
      .setUsername('')
      .setAverageItemsPerSecond(Math.round(connection.averageItemsPerSecond))
      .setTotalItems(String(connection.totalItems))
      .setCountSinceLastMeasurement(String(connection.countSinceLastMeasurement))
      .setObservedMeasurementsList(
        connection.measurements.map(([key, value]) => new persistentPb.SubscriptionInfo.Measurement().setKey(key).setValue(String(value))),
      )
      .setAvailableSlots(connection.availableSlots)
      .setInFlightMessages(connection.inFlightMessages)
      .setConnectionName(connection.connectionName),
  );
  return new persistentPb.SubscriptionInfo()
    .setEventSource(definition.source.kind === 'all' ? '$all' : definition.source.stream)
    .setGroupName(definition.group)
    .setStatus(stats.status)
    .setConnectionsList(connections)
    .setAveragePerSecond(Math.round(stats.averagePerSecond))
    .setTotalItems(String(stats.totalItems))
    .setCountSinceLastMeasurement(String(stats.countSinceLastMeasurement))
    .setLastCheckpointedEventPosition(positionText(definition, stats.lastCheckpointedKey))
    .setLastKnownEventPosition(positionText(definition, stats.lastKnownKey))
    .setResolveLinkTos(settings.resolveLinkTos)
    .setStartFrom(startFromText(definition, definition.startFrom))
    .setMessageTimeoutMilliseconds(settings.messageTimeoutMs)
    .setExtraStatistics(settings.extraStatistics)
    .setMaxRetryCount(settings.maxRetryCount)
    .setLiveBufferSize(settings.liveBufferSize)
    .setBufferSize(settings.historyBufferSize)
    .setReadBatchSize(settings.readBatchSize)
    .setCheckPointAfterMilliseconds(settings.checkPointAfterMs)
    .setMinCheckPointCount(settings.checkPointLowerBound)
    .setMaxCheckPointCount(settings.checkPointUpperBound)
    .setReadBufferCount(stats.readBufferCount)
    .setLiveBufferCount(String(stats.liveBufferCount))
    .setRetryBufferCount(stats.retryBufferCount)
    .setTotalInFlightMessages(stats.totalInFlightMessages)
    .setOutstandingMessagesCount(stats.outstandingMessagesCount)
    .setNamedConsumerStrategy(settings.consumerStrategy)
    .setMaxSubscriberCount(settings.maxSubscriberCount)
    .setParkedMessageCount(String(stats.parkedMessageCount));
}

export const empty = () => new sharedPb.Empty();
