// The Users gRPC service (event_store.client.users.Users) over the store's users (auth/users.ts):
// Create, Update, Delete, Enable, Disable, Details (one user, or every user when no login is
// given), ChangePassword and ResetPassword, with EventStoreDB's rules: $admins manage users, a
// user reads its own details and changes its own password (knowing the current one).
// The 6.x Node client has no API for it; other EventStoreDB clients (and the client's generated
// UsersClient) call it. Errors as EventStoreDB sends them: `user-not-found` (NOT_FOUND) with
// `login-name`, `user-conflict` (ALREADY_EXISTS) for a login taken, access-denied otherwise.
import * as grpc from '@grpc/grpc-js';
import usersGrpc from '@eventstore/db-client/generated/users_grpc_pb.js';
import usersPb from '@eventstore/db-client/generated/users_pb.js';
import type { ServiceModule } from './service-module.js';
import { invalidArgument, rpcError, toRpcError } from './rpc-errors.js';
import { operationAccessDenied, refuseOperation, type CallAuthorization } from '../auth/acl.js';
import { InvalidUserError, type UserDetails, UserExistsError, UserNotFoundError, type UserStore, WrongPasswordError } from '../auth/users.js';

const SERVICE_NAME = 'event_store.client.users.users';
const METHODS = ['create', 'update', 'delete', 'disable', 'enable', 'details', 'changepassword', 'resetpassword'];

type Pb = typeof usersPb;
type Call<Request> = grpc.ServerUnaryCall<Request, unknown>;

/** `authorization` absent: an insecure store, where every caller may manage users. */
export function createUsersService(users: UserStore, authorization?: CallAuthorization): ServiceModule {
  const unary =
    <Request>(work: (request: Request, call: Call<Request>) => Promise<unknown>) =>
    (call: Call<Request>, callback: grpc.sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => work(call.request, call))
        .then((reply) => callback(null, reply), (error: unknown) => callback(toUsersRpcError(error)));
    };
  const refuse = (call: object, operation: Parameters<typeof refuseOperation>[2], login?: string) => {
    const denied = refuseOperation(authorization, call, operation, login);
    if (denied) throw denied;
  };

  const implementation: grpc.UntypedServiceImplementation = {
    create: unary(async (request: InstanceType<Pb['CreateReq']>, call) => {
      refuse(call, 'users.create');
      const options = required(request.getOptions());
      await users.create({ login: options.getLoginName(), fullName: options.getFullName(), groups: options.getGroupsList(), password: options.getPassword() });
      return new usersPb.CreateResp();
    }),
    update: unary(async (request: InstanceType<Pb['UpdateReq']>, call) => {
      refuse(call, 'users.update');
      const options = required(request.getOptions());
      const password = options.getPassword();
      await users.update(options.getLoginName(), { fullName: options.getFullName(), groups: options.getGroupsList(), ...(password ? { password } : {}) });
      return new usersPb.UpdateResp();
    }),
    delete: unary(async (request: InstanceType<Pb['DeleteReq']>, call) => {
      refuse(call, 'users.delete');
      await users.delete(required(request.getOptions()).getLoginName());
      return new usersPb.DeleteResp();
    }),
    enable: unary(async (request: InstanceType<Pb['EnableReq']>, call) => {
      refuse(call, 'users.enable');
      await users.enable(required(request.getOptions()).getLoginName());
      return new usersPb.EnableResp();
    }),
    disable: unary(async (request: InstanceType<Pb['DisableReq']>, call) => {
      refuse(call, 'users.disable');
      await users.disable(required(request.getOptions()).getLoginName());
      return new usersPb.DisableResp();
    }),
    changePassword: unary(async (request: InstanceType<Pb['ChangePasswordReq']>, call) => {
      const options = required(request.getOptions());
      refuse(call, 'users.changePassword', options.getLoginName());
      await users.changePassword(options.getLoginName(), options.getCurrentPassword(), options.getNewPassword());
      return new usersPb.ChangePasswordResp();
    }),
    resetPassword: unary(async (request: InstanceType<Pb['ResetPasswordReq']>, call) => {
      refuse(call, 'users.resetPassword');
      const options = required(request.getOptions());
      await users.resetPassword(options.getLoginName(), options.getNewPassword());
      return new usersPb.ResetPasswordResp();
    }),
    details(call: grpc.ServerWritableStream<InstanceType<Pb['DetailsReq']>, unknown>) {
      try {
        const login = call.request.getOptions()?.getLoginName() ?? '';
        let found: UserDetails[];
        if (login === '') {
          refuse(call, 'users.list');
          found = users.list();
        } else {
          refuse(call, 'users.read', login);
          const user = users.details(login);
          if (!user) throw new UserNotFoundError(login);
          found = [user];
        }
        for (const user of found) call.write(new usersPb.DetailsResp().setUserDetails(toUserDetails(user)));
        call.end();
      } catch (error) {
        // grpc-js sends a server stream's status from an 'error' event.
        call.emit('error', toUsersRpcError(error));
      }
    },
  };

  return {
    definition: usersGrpc.UsersService as unknown as grpc.ServiceDefinition,
    implementation,
    supportedMethods: METHODS.map((methodName) => ({ serviceName: SERVICE_NAME, methodName })),
  };
}

function required<T>(options: T | undefined): T {
  if (!options) throw invalidArgument('options are required');
  return options;
}

function toUserDetails(user: UserDetails) {
  const ticks = BigInt(user.lastUpdated.getTime()) * 10_000n;
  return new usersPb.DetailsResp.UserDetails()
    .setLoginName(user.login)
    .setFullName(user.fullName)
    .setGroupsList([...user.groups])
    .setDisabled(user.disabled)
    .setLastUpdated(new usersPb.DetailsResp.UserDetails.DateTime().setTicksSinceEpoch(String(ticks)));
}

function toUsersRpcError(error: unknown) {
  if (error instanceof UserNotFoundError) return rpcError(grpc.status.NOT_FOUND, error.message, { exception: 'user-not-found', 'login-name': error.login });
  if (error instanceof UserExistsError) return rpcError(grpc.status.ALREADY_EXISTS, error.message, { exception: 'user-conflict', 'login-name': error.login });
  if (error instanceof WrongPasswordError) return operationAccessDenied('the current password does not match');
  if (error instanceof InvalidUserError) return invalidArgument(error.message);
  return toRpcError(error);
}
