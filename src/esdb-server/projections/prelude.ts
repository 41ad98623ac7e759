// EventStoreDB's JavaScript projection language, as source code run inside the projection's own
// node:vm context (see sandbox.ts). Nothing of the host is reachable from there: the host only
// ever passes strings and numbers in and reads strings back, so no host object (whose
// constructor would lead back to the host's Function, require or process) enters the context.
export const PRELUDE = String.raw`
(function (global) {
  'use strict';
  for (const name of ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'ArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array',
    'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array',
    'BigInt64Array', 'BigUint64Array', 'FinalizationRegistry', 'WeakRef']) {
    try { delete global[name]; } catch (e) { /* not configurable: leave it */ }
  }
  const definition = {
    all: false, streams: [], categories: [], matching: null, byStream: false, partitionBy: null,
    handlers: null, transformBy: null, filterBy: null, outputState: false, resultStreamName: null, options: {},
  };
  let emitEnabled = false;
  let name = '';
  let states = new Map();
  let changed = new Set();
  let emitted = [];

  function describe(error) {
    try {
      if (error && typeof error === 'object' && typeof error.message === 'string') {
        return (typeof error.name === 'string' && error.name !== 'Error' ? error.name + ': ' : '') + error.message;
      }
      return String(error);
    } catch (e) {
      return 'The projection threw a value that cannot be described';
    }
  }
  function asList(args) {
    if (args.length === 1 && Array.isArray(args[0])) return args[0].map(String);
    return Array.prototype.slice.call(args).map(String);
  }
  const chain = {
    when(handlers) { definition.handlers = handlers || {}; return chain; },
    foreachStream() { definition.byStream = true; return chain; },
    partitionBy(fn) { definition.partitionBy = fn; return chain; },
    outputState() { definition.outputState = true; return chain; },
    transformBy(fn) { definition.transformBy = fn; return chain; },
    filterBy(fn) { definition.filterBy = fn; return chain; },
    outputTo(stream) { definition.outputState = true; definition.resultStreamName = String(stream); return chain; },
  };
  global.options = function (options) { definition.options = options || {}; };
  global.fromAll = function () { definition.all = true; return chain; };
  global.fromStream = function (stream) { definition.streams.push(String(stream)); return chain; };
  global.fromStreams = function () { definition.streams.push.apply(definition.streams, asList(arguments)); return chain; };
  global.fromCategory = function (category) { definition.categories.push(String(category)); return chain; };
  global.fromCategories = function () { definition.categories.push.apply(definition.categories, asList(arguments)); return chain; };
  global.fromStreamsMatching = function (fn) { definition.all = true; definition.matching = fn; return chain; };
  global.log = function () {};
  global.emit = function (streamId, eventType, data, metadata) {
    if (!emitEnabled) throw new Error("'emit' is not allowed by the projection/configuration/mode");
    emitted.push({ stream: String(streamId), type: String(eventType), json: true, data: JSON.stringify(data === undefined ? {} : data),
      metadata: metadata === undefined ? '' : JSON.stringify(metadata) });
  };
  global.linkTo = function (streamId, event, metadata) {
    if (!emitEnabled) throw new Error("'linkTo' is not allowed by the projection/configuration/mode");
    emitted.push({ stream: String(streamId), type: '$>', json: false, data: event.sequenceNumber + '@' + event.streamId,
      metadata: metadata === undefined ? '' : JSON.stringify(metadata) });
  };
  global.copyTo = function (streamId, event, metadata) {
    if (!emitEnabled) throw new Error("'copyTo' is not allowed by the projection/configuration/mode");
    emitted.push({ stream: String(streamId), type: event.eventType, json: event.isJson, data: event.bodyRaw,
      metadata: metadata === undefined ? (event.metadataRaw || '') : JSON.stringify(metadata) });
  };

  function initialState() {
    const init = definition.handlers && definition.handlers.$init;
    return init ? init() : {};
  }
  function stateOf(partition) {
    if (!states.has(partition)) states.set(partition, initialState());
    return states.get(partition);
  }
  function parse(text) {
    if (text === '') return undefined;
    try { return JSON.parse(text); } catch (e) { return undefined; }
  }
  function resultOf(state) {
    if (definition.transformBy) {
      const copy = JSON.parse(JSON.stringify(state === undefined ? null : state));
      const result = definition.transformBy(copy);
      return result === undefined ? copy : result;
    }
    if (definition.filterBy) return definition.filterBy(state) ? state : null;
    return state;
  }

  // ---- called by the host (strings and numbers only) ------------------------------------------
  global.__configure = function (projectionName, emits, statesJson) {
    name = projectionName;
    emitEnabled = emits;
    const stored = JSON.parse(statesJson);
    for (const partition of Object.keys(stored)) states.set(partition, JSON.parse(stored[partition]));
  };
  global.__definition = function () {
    const handlers = definition.handlers || {};
    const types = Object.keys(handlers).filter((key) => key.charAt(0) !== '$');
    return JSON.stringify({
      all: definition.all, streams: definition.streams, categories: definition.categories,
      types: handlers.$any || definition.matching ? null : types,
      byStream: definition.byStream, partitioned: definition.byStream || definition.partitionBy !== null,
      handlesDeleted: typeof handlers.$deleted === 'function',
      includeLinks: definition.options.$includeLinks === true,
      hasWhen: definition.handlers !== null,
    });
  };
  /** Handles one event; '' when done, else the reason it faulted. */
  global.__step = function (stream, revision, type, position, isJson, dataText, metadataText, eventId, created, deleted) {
    try {
      const handlers = definition.handlers || {};
      const metadata = parse(metadataText);
      const body = isJson ? parse(dataText) : undefined;
      const event = {
        isJson: isJson, data: body, body: body, bodyRaw: dataText, sequenceNumber: revision, metadataRaw: metadataText,
        linkMetadataRaw: '', partition: '', eventType: type, streamId: stream, metadata: metadata, linkMetadata: undefined,
        eventId: eventId, position: position, created: created,
      };
      if (definition.matching && !definition.matching(stream)) return '';
      let partition = '';
      if (definition.byStream) partition = stream;
      else if (definition.partitionBy) {
        const key = definition.partitionBy(event);
        if (key === undefined || key === null) return '';
        partition = String(key);
      }
      event.partition = partition;
      const handler = deleted ? handlers.$deleted : handlers[type] || handlers.$any;
      if (typeof handler !== 'function') return '';
      if (!states.has(partition) && typeof handlers.$created === 'function') {
        const created = handlers.$created(stateOf(partition), event);
        if (created !== undefined) states.set(partition, created);
      }
      const state = stateOf(partition);
      const next = handler(state, event);
      states.set(partition, next === undefined ? state : next);
      changed.add(partition);
      return '';
    } catch (error) {
      return describe(error) || 'The projection faulted';
    }
  };
  /** What the batch changed, as JSON; 'E' + reason when a transformation faulted. */
  global.__end = function () {
    try {
      const out = [];
      for (const partition of changed) {
        const state = states.get(partition);
        const hasResult = definition.transformBy !== null || definition.filterBy !== null;
        const result = hasResult ? resultOf(state) : state;
        const stateJson = JSON.stringify(state === undefined ? null : state);
        const resultJson = hasResult ? JSON.stringify(result === undefined ? null : result) : null;
        out.push([partition, stateJson, resultJson]);
        if (definition.outputState) {
          const stream = partition === '' ? definition.resultStreamName || definition.options.resultStreamName || '$projections-' + name + '-result'
            : '$projections-' + name + '-' + partition + '-result';
          emitted.push({ stream: stream, type: 'Result', json: true, data: resultJson === null ? stateJson : resultJson, metadata: '' });
        }
      }
      const reply = JSON.stringify({ changed: out, emits: emitted });
      changed = new Set();
      emitted = [];
      return reply;
    } catch (error) {
      return 'E' + (describe(error) || 'The projection faulted');
    }
  };
})(globalThis);
`;
