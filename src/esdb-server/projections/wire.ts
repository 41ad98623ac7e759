// What the server thread and a projection's worker thread send each other.

/** What a query selects, read off it once compiled, so the server thread sends only what it handles. */
export interface SourceDefinition {
  all: boolean;
  streams: string[];
  categories: string[];
  /** The event types with a handler; null when $any (or fromStreamsMatching) takes every type. */
  types: string[] | null;
  byStream: boolean;
  partitioned: boolean;
  handlesDeleted: boolean;
  includeLinks: boolean;
  hasWhen: boolean;
}

export interface WireEvent {
  stream: string;
  revision: number;
  type: string;
  position: number;
  id: string;
  isJson: boolean;
  data: Uint8Array;
  metadata: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  created: number;
  /** A soft delete of `stream`, for the $deleted handler. */
  deleted: boolean;
}

export interface WireEmit {
  stream: string;
  type: string;
  json: boolean;
  data: string;
  metadata: string;
}

export type ToWorker =
  | { type: 'init'; name: string; query: string; emitEnabled: boolean; statesJson: string }
  | { type: 'batch'; events: WireEvent[] };

export type FromWorker =
  | { type: 'ready'; definition: SourceDefinition }
  | { type: 'done'; changes: string }
  | { type: 'fault'; reason: string };

/** Progress counters the worker bumps in a SharedArrayBuffer, read by the server thread's watchdog. */
export const PROGRESS_SEQUENCE = 0;
export const PROGRESS_PHASE = 1;
export const PHASE_IDLE = 0;
export const PHASE_HANDLER = 1;
export const PHASE_OTHER = 2;
