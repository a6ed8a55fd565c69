import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TokenKeyRing } from '../graphql/auth';

/**
 * Signed one-click links in the registration reminder e-mails (seed 003: "Volunteers can add new
 * dates or indicate the mission has ended directly from the email").
 *
 * - **Not in the log, made at send time.** The notifications projection writes a marker
 *   (`linkMarker`) where the template says `{{addDatesLink}}`; the worker replaces it with a signed
 *   link just before the e-mail goes out (`fillLinks`). Projections stay deterministic and keyless,
 *   and a replay rebuilds the same outbox text.
 * - **The key** is derived from the bearer-token key material (HMAC-SHA256 of the token key and a
 *   label naming this use), so there is no secret in the code and no second secret to manage: on the
 *   embedded store that material is `<DATA_DIR>/token-signing-key.json`, elsewhere AUTH_TOKEN_SECRET /
 *   AUTH_TOKEN_KEYS. A link names the key id it was signed with; rotating the token keys keeps old
 *   links valid while their key is still listed, as it does for tokens.
 * - **Expiry** is in the signed payload (the e-mail's time plus the configured lifetime).
 * - **Used once**: the link's action runs as a command whose idempotency key is the link's nonce
 *   (`useKey`), so the store itself refuses a second use, across instances and restarts.
 */

export type LinkAction = 'ADD_DATES' | 'MISSION_ENDED';
export const LINK_ACTIONS: readonly LinkAction[] = ['ADD_DATES', 'MISSION_ENDED'];

export interface LinkPayload {
  readonly action: LinkAction;
  readonly registrationId: string;
  /** The volunteer the e-mail went to: the action is theirs. */
  readonly userId: string;
  /** Unique per e-mail and action. */
  readonly nonce: string;
  /** ISO-8601. */
  readonly expiresAt: string;
}

export type LinkCheck =
  | { readonly ok: true; readonly payload: LinkPayload }
  | { readonly ok: false; readonly reason: 'INVALID' | 'EXPIRED'; readonly payload?: LinkPayload };

const LABEL = 'mentoring-lifecycle/one-click-links/v1';
const MARKER = /\[\[one-click:(ADD_DATES|MISSION_ENDED):([A-Za-z0-9._:-]{1,200})\]\]/g;

/** What the projection writes in place of a link: the action and the registration, nothing secret. */
export const linkMarker = (action: LinkAction, registrationId: string): string => `[[one-click:${action}:${registrationId}]]`;

/** The idempotency key the link's command runs under: a second use finds it taken. */
export const useKey = (payload: LinkPayload): string => `one-click-link:${payload.nonce}`;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

export class OneClickLinks {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly signingKid: string;

  constructor(
    tokenKeys: TokenKeyRing,
    /** Where the service is reached from a mail client, without a trailing slash (`https://mentoring.example.org`). */
    readonly publicUrl: string,
    /** How long a link works after its e-mail was written. */
    private readonly lifetimeMs: number,
  ) {
    this.keys = new Map(tokenKeys.verifying.map((key) => [key.kid, createHmac('sha256', key.secret).update(LABEL).digest()]));
    this.signingKid = tokenKeys.signing.kid;
  }

  sign(payload: LinkPayload): string {
    const body = b64(JSON.stringify({ k: this.signingKid, a: payload.action, r: payload.registrationId, u: payload.userId, n: payload.nonce, x: payload.expiresAt }));
    return `${body}.${this.mac(this.keys.get(this.signingKid)!, body)}`;
  }

  verify(token: string, now: Date): LinkCheck {
    if (token.length > 2000) return { ok: false, reason: 'INVALID' };
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined) return { ok: false, reason: 'INVALID' };
    let parsed: { k?: unknown; a?: unknown; r?: unknown; u?: unknown; n?: unknown; x?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'INVALID' };
    }
    const key = typeof parsed.k === 'string' ? this.keys.get(parsed.k) : undefined;
    if (!key) return { ok: false, reason: 'INVALID' };
    const expected = Buffer.from(this.mac(key, body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'INVALID' };
    const { a, r, u, n, x } = parsed;
    if (!LINK_ACTIONS.includes(a as LinkAction) || typeof r !== 'string' || typeof u !== 'string' || typeof n !== 'string' || typeof x !== 'string') {
      return { ok: false, reason: 'INVALID' };
    }
    const payload: LinkPayload = { action: a as LinkAction, registrationId: r, userId: u, nonce: n, expiresAt: x };
    if (!(Date.parse(x) > now.getTime())) return { ok: false, reason: 'EXPIRED', payload };
    return { ok: true, payload };
  }

  /** The address a link opens. */
  url(payload: LinkPayload): string {
    return `${this.publicUrl}/links?t=${this.sign(payload)}`;
  }

  /**
   * The e-mail's markers replaced with links for its recipient. `notificationId` makes each e-mail's
   * links its own; `writtenAt` (the event's time) starts their lifetime, so a retried send signs the
   * same links.
   */
  fillLinks(body: string, recipient: { readonly userId: string; readonly notificationId: string; readonly writtenAt: Date }): string {
    const expiresAt = new Date(recipient.writtenAt.getTime() + this.lifetimeMs).toISOString();
    return body.replace(MARKER, (_, action: LinkAction, registrationId: string) =>
      this.url({ action, registrationId, userId: recipient.userId, nonce: `${recipient.notificationId}:${action}`, expiresAt }),
    );
  }

  private mac(key: Buffer, body: string): string {
    return createHmac('sha256', key).update(body).digest('base64url');
  }
}
