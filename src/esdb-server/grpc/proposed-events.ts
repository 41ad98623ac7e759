// Proposed messages (Append and BatchAppend carry the same shape) turned into store events.
import type { ProposedEvent } from '../log/types.js';
import type { sharedPb } from './protocol.js';
import { parseUuid } from './conversions.js';
import { missingRequiredMetadata } from './rpc-errors.js';

export interface ProposedMessageLike {
  getId(): InstanceType<typeof sharedPb.UUID> | undefined;
  getMetadataMap(): { get(key: string): string | undefined };
  getData_asU8(): Uint8Array;
  getCustomMetadata_asU8(): Uint8Array;
}

export function toProposedEvent(message: ProposedMessageLike): ProposedEvent {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  const contentType = metadata.get('content-type');
  const missing = [type === undefined ? 'type' : undefined, contentType === undefined ? 'content-type' : undefined];
  if (type === undefined || contentType === undefined) throw missingRequiredMetadata(missing.filter((key) => key !== undefined));
  return {
    id: parseUuid(message.getId(), 'proposed message id'),
    type,
    contentType,
    data: message.getData_asU8(),
    metadata: message.getCustomMetadata_asU8(),
  };
}

/**
 * What counts against the maximum append size, as EventStoreDB's `Event.SizeOnDisk`: the data and
 * custom metadata bytes plus two bytes per UTF-16 unit of the event type.
 */
export function proposedSize(event: ProposedEvent): number {
  return event.data.byteLength + event.metadata.byteLength + event.type.length * 2;
}
