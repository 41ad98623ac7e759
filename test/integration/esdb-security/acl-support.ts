// Shared by the authorization tests: a secured store, its Users service through the client's own
// generated UsersClient (the 6.x Node client has no users API), and clients that act as a user.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import usersGrpc from '@eventstore/db-client/generated/users_grpc_pb.js';
import usersPb from '@eventstore/db-client/generated/users_pb.js';
import type { TestEventStore } from '../../helpers/event-store.js';

type UsersClient = InstanceType<typeof usersGrpc.UsersClient>;

/** The same store as `store.connectionString`, as another user. */
export function connectionStringAs(store: TestEventStore, login: string, password: string): string {
  return store.connectionString.replace(/^esdb:\/\/[^@]*@/, `esdb://${encodeURIComponent(login)}:${encodeURIComponent(password)}@`);
}

export function clientAs(store: TestEventStore, login: string, password: string): EventStoreDBClient {
  return EventStoreDBClient.connectionString(connectionStringAs(store, login, password));
}

/** The generated Users client over TLS against the store's CA, sending `login`'s credentials on every call. */
export function usersClientAs(store: TestEventStore, login: string, password: string): UsersClient {
  const credentials = store.server.credentials!;
  const basic = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, done) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', basic);
    done(null, metadata);
  });
  const channel = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(readFileSync(credentials.caFile)), perCall);
  return new usersGrpc.UsersClient(`localhost:${store.server.port}`, channel);
}

export function adminUsersClient(store: TestEventStore): UsersClient {
  const credentials = store.server.credentials!;
  return usersClientAs(store, credentials.login, credentials.password);
}

type Unary<Req, Res> = (request: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown;

export function call<Req, Res>(client: UsersClient, method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((ok, fail) => method.call(client, request, (error, response) => (error ? fail(error) : ok(response))));
}

export async function createUser(users: UsersClient, login: string, password: string, groups: string[] = []): Promise<void> {
  const options = new usersPb.CreateReq.Options().setLoginName(login).setPassword(password).setFullName(login).setGroupsList(groups);
  await call(users, users.create, new usersPb.CreateReq().setOptions(options));
}

export async function disableUser(users: UsersClient, login: string): Promise<void> {
  await call(users, users.disable, new usersPb.DisableReq().setOptions(new usersPb.DisableReq.Options().setLoginName(login)));
}

export async function enableUser(users: UsersClient, login: string): Promise<void> {
  await call(users, users.enable, new usersPb.EnableReq().setOptions(new usersPb.EnableReq.Options().setLoginName(login)));
}

/** The Details stream: every user when `login` is empty. */
export function userDetails(users: UsersClient, login = ''): Promise<InstanceType<typeof usersPb.DetailsResp.UserDetails>[]> {
  return new Promise((ok, fail) => {
    const found: InstanceType<typeof usersPb.DetailsResp.UserDetails>[] = [];
    const stream = users.details(new usersPb.DetailsReq().setOptions(new usersPb.DetailsReq.Options().setLoginName(login)));
    stream.on('data', (response: InstanceType<typeof usersPb.DetailsResp>) => found.push(response.getUserDetails()!));
    stream.on('error', fail);
    stream.on('end', () => ok(found));
  });
}

export const anEvent = (type = 'thing.happened') => jsonEvent({ type, data: { at: Date.now() } });

/** What a client call was refused with: the error's class name, or 'ok'. */
export async function outcome(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.constructor.name : String(error);
  }
}

/**
 * `work`'s outcome once it is `expected`, or the last one after a generous bound: authentication
 * trusts a successful check for a moment (AUTHENTICATION_CACHE_MS), so a password or group change
 * reaches credentials used just before within that long.
 */
export async function eventually(work: () => Promise<string>, expected: string, boundMs = 15_000): Promise<string> {
  const until = Date.now() + boundMs;
  let last = await work();
  while (last !== expected && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await work();
  }
  return last;
}
