import type { ResolvedEvent } from './types.js';

/** What a resolved event holds in memory: its data and metadata, and its link's if any (the byte bounds of reads, group buffers and the shared tail). */
export function resolvedEventBytes({ event, link }: ResolvedEvent): number {
  return (event ? event.data.byteLength + event.metadata.byteLength : 0) + (link ? link.data.byteLength + link.metadata.byteLength : 0);
}
