// HTTP/2 flow-control windows for the store's gRPC connections (issue #11, README "Overload").
// Node's default is 64 KB per stream and per connection: a client sending one large append (a
// 56 KB event is ~75 KB on the wire, base64 in the protobuf) stops at 64 KB until the store's
// WINDOW_UPDATE comes back, which a busy client's event loop reads on a later iteration, so
// under load each large append on the shared BatchAppend stream took iterations of its own.
// grpc-js's Server has no option for it: its HTTP/2 server (one per connection injector) is
// given the settings for the sessions it opens.
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

export interface FlowControlWindows {
  /** What each stream may send before the store's window update (the SETTINGS the client sees). */
  streamBytes: number;
  /** What one connection may send in all before a window update. */
  connectionBytes: number;
}

export const DEFAULT_FLOW_CONTROL_WINDOWS: FlowControlWindows = { streamBytes: 4 * 1024 * 1024, connectionBytes: 16 * 1024 * 1024 };
/** Node's own (RFC 9113's initial 65,535 bytes): for comparing, as the probe does. */
export const NODE_DEFAULT_FLOW_CONTROL_WINDOWS: FlowControlWindows = { streamBytes: 65_535, connectionBytes: 65_535 };

/** Sets the windows of the sessions the server's HTTP/2 servers (made so far) open from now on. */
export function setFlowControlWindows(server: grpc.Server, windows: FlowControlWindows = DEFAULT_FLOW_CONTROL_WINDOWS): void {
  // grpc-js keeps its HTTP/2 servers in a private map: fail the start loudly if that changes
  // (a store on 64 KB windows works, but slows to an append per iteration under load).
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('@grpc/grpc-js no longer exposes its HTTP/2 servers: the store cannot set its flow-control windows');
  for (const http2Server of servers.keys() as Iterable<Http2Server>) {
    http2Server.updateSettings({ initialWindowSize: windows.streamBytes });
    if (windows.connectionBytes > 65_535) http2Server.on('session', (session: ServerHttp2Session) => session.setLocalWindowSize(windows.connectionBytes));
  }
}
