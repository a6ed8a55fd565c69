import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An identity provider for the tests: keys made here, JWTs signed as providers sign them, a JWKS over real HTTP. */

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
}

export const makeKey = (kid: string, alg: 'RS256' | 'ES256'): SigningKey => {
  const { privateKey, publicKey } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, alg, privateKey, jwk: { ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid, alg, use: 'sig' } };
};

export const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT as an identity provider signs it: RS256 PKCS#1 v1.5, ES256 raw r||s. */
export const signJwt = (key: SigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string => {
  const input = `${segment({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header })}.${segment(claims)}`;
  const signature = sign('sha256', Buffer.from(input), key.alg === 'ES256' ? { key: key.privateKey, dsaEncoding: 'ieee-p1363' } : key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
};

/** The identity provider's JWKS endpoint: the keys it publishes can be changed by the test. */
export class JwksServer {
  published: SigningKey[] = [];
  fetches = 0;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((_request, response) => {
      this.fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: this.published.map((key) => key.jwk) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/protocol/openid-connect/certs`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
