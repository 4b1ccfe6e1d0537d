/**
 * Access tokens: short-lived HS256 JWTs. The verifier pins the algorithm (no `none`, no
 * algorithm confusion), the issuer and the audience, and allows 30 s of clock skew between
 * processes. Every failure is an AuthenticationError that says only "invalid" (or "expired", so
 * a client knows to refresh): a forger learns nothing about which check refused the token.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { z } from 'zod';
import { requireJwtSecret, type Config } from '../config';
import { AuthenticationError } from '../errors';
import { RoleSchema, type Role } from './roles';

export const CLOCK_TOLERANCE_SECONDS = 30;
const ALG = 'HS256';

export interface AccessTokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** For tests: the clock tokens are issued and checked against. */
  now?: () => Date;
}

/** What a token asserts beyond the registered claims. */
export interface AccessTokenSubject {
  /** User id (`u_…`). */
  sub: string;
  role: Role;
  /** Login session id; revoking it revokes the token. */
  sid: string;
  /** The user's e-mail, so a request can be attributed without reading the user. */
  email: string;
}

const ClaimsSchema = z.object({
  sub: z.string().min(1),
  role: RoleSchema,
  sid: z.string().min(1),
  email: z.string(),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
});
export type AccessClaims = z.infer<typeof ClaimsSchema>;

export function accessTokenSettings(config: Config): AccessTokenSettings {
  return {
    secret: requireJwtSecret(config),
    issuer: config.auth.jwt_issuer,
    audience: config.auth.jwt_audience,
    ttlSeconds: config.auth.access_token_ttl_seconds,
  };
}

export class AccessTokens {
  private readonly key: Uint8Array;
  /** Imported once: given raw bytes, jose imports the key again on every sign and verify. */
  private cryptoKey?: Promise<webcrypto.CryptoKey>;
  private readonly now: () => Date;

  constructor(private readonly settings: AccessTokenSettings) {
    if (settings.secret.length < 32) throw new Error('JWT secret must be at least 32 characters');
    this.key = new TextEncoder().encode(settings.secret);
    this.now = settings.now ?? (() => new Date());
  }

  private signingKey(): Promise<webcrypto.CryptoKey> {
    this.cryptoKey ??= webcrypto.subtle
      .importKey('raw', this.key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
      .catch((err: unknown) => {
        this.cryptoKey = undefined;
        throw err;
      });
    return this.cryptoKey;
  }

  async sign(subject: AccessTokenSubject): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(this.now().getTime() / 1000);
    const exp = iat + this.settings.ttlSeconds;
    const token = await new SignJWT({ role: subject.role, sid: subject.sid, email: subject.email })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(subject.sub)
      .setJti(randomBytes(12).toString('base64url'))
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .sign(await this.signingKey());
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The token's claims, or AuthenticationError when it is not one of ours or has expired. */
  async verify(token: string): Promise<AccessClaims> {
    // Outside the try: a key that cannot be imported is a server fault, not a bad token.
    const key = await this.signingKey();
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [ALG],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.now(),
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
      }));
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AuthenticationError(expired ? 'Access token has expired' : 'Invalid access token');
    }
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthenticationError('Invalid access token');
    return claims.data;
  }
}
