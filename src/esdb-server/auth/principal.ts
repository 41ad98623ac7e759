// Who a call or request acts as, once authenticated. Shared by authentication (credentials from
// gRPC metadata or an HTTP Authorization header, see authenticate.ts) and authorization (users,
// groups and stream ACLs, see users.ts and acl.ts).

/** An authenticated user: its login and the groups it belongs to ($admins, $ops, ...). */
export interface Principal {
  readonly login: string;
  readonly groups: readonly string[];
}

/** What an insecure store (--insecure) acts as for every caller: EventStoreDB allows everything then. */
export const INSECURE_PRINCIPAL: Principal = Object.freeze({ login: '$insecure', groups: Object.freeze(['$admins']) });

export const ADMINS_GROUP = '$admins';
export const OPS_GROUP = '$ops';
