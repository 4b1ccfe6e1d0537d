/**
 * Who may do what. A role is what a person is (admin, facilitator, viewer); scopes are what a
 * caller may do, derived from the role for users and chosen per key for API keys. Authorization
 * checks scopes (and `owner_id` for whose data is visible), never the role name, so a scoped-down
 * API key cannot do more than its scopes even when it acts for an admin.
 */
import { z } from 'zod';

export const ROLES = ['admin', 'facilitator', 'viewer'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const SCOPES = [
  'sessions:read',
  'sessions:write',
  'clients:read',
  'clients:write',
  'personas:read',
  'analysis:run',
  'webhooks:read',
  'webhooks:write',
  'admin',
] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

export function scopesForRole(role: Role): Scope[] {
  switch (role) {
    case 'admin':
      return [...SCOPES];
    case 'facilitator':
      return SCOPES.filter((s) => s !== 'admin');
    case 'viewer':
      return SCOPES.filter((s) => s.endsWith(':read'));
  }
}

/** The authenticated caller of one request, as the API's authorization sees it. */
export interface Principal {
  kind: 'user' | 'api_key';
  /** `u_…` user id, or the API key's id (`sk_ss_` + 8 chars). */
  id: string;
  /** The user's e-mail, or the API key's name: what `created_by` and note authors show. */
  name: string;
  role: Role;
  scopes: Scope[];
  /**
   * The user whose data this caller may see (facilitators see their own clients and sessions).
   * Absent: sees everything its scopes allow (admins, viewers, system API keys).
   */
  owner_id?: string;
  /** API keys restricted to client addresses (exact or IPv4 CIDR). */
  allowed_ips?: string[];
  /** Login session of a JWT; logout revokes it. */
  session_id?: string;
}

/** Facilitators are confined to their own data; admins and viewers see all (viewers read-only). */
export function ownerIdFor(role: Role, userId: string): string | undefined {
  return role === 'facilitator' ? userId : undefined;
}

export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.includes(scope);
}
