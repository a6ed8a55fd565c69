import { keyRing } from '../graphql/auth';
import { linkMarker, OneClickLinks, useKey, type LinkPayload } from './oneClickLinks';

const OLD = { kid: 'old', secret: 'o'.repeat(40) };
const NEW = { kid: 'new', secret: 'n'.repeat(40) };
const payload: LinkPayload = { action: 'ADD_DATES', registrationId: 'r-1', userId: 'u-1', nonce: 'n-1', expiresAt: '2026-10-12T08:00:00.000Z' };
const before = new Date('2026-10-11T08:00:00.000Z');

describe('one-click links', () => {
  const links = new OneClickLinks(keyRing([OLD]), 'https://m.example', 7 * 86_400_000);

  it('verify what they sign, until they expire', () => {
    const token = links.sign(payload);
    expect(links.verify(token, before)).toEqual({ ok: true, payload });
    expect(links.verify(token, new Date('2026-10-12T08:00:00.000Z'))).toMatchObject({ ok: false, reason: 'EXPIRED' });
  });

  it('refuse a changed payload, a changed signature, another key and garbage', () => {
    const [body, mac] = links.sign(payload).split('.');
    const changed = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), a: 'MISSION_ENDED' })).toString('base64url');
    expect(links.verify(`${changed}.${mac}`, before)).toEqual({ ok: false, reason: 'INVALID' });
    expect(links.verify(`${body}.${mac!.slice(1)}A`, before)).toEqual({ ok: false, reason: 'INVALID' });
    expect(new OneClickLinks(keyRing([NEW]), 'https://m.example', 1).verify(`${body}.${mac}`, before)).toEqual({ ok: false, reason: 'INVALID' });
    for (const garbage of ['', 'a', 'a.b.c', '%%%.x']) expect(links.verify(garbage, before).ok).toBe(false);
  });

  it('keep working through a key rotation while the old key is listed', () => {
    const token = links.sign(payload);
    expect(new OneClickLinks(keyRing([NEW, OLD]), 'https://m.example', 1).verify(token, before).ok).toBe(true);
  });

  it('replace the markers of an e-mail with links of its own, the same each time it is signed', () => {
    const body = `Add: ${linkMarker('ADD_DATES', 'r-1')}\nEnd: ${linkMarker('MISSION_ENDED', 'r-1')}\n`;
    const recipient = { userId: 'u-1', notificationId: 'e-1:MENTOR', writtenAt: new Date('2026-10-05T08:00:00.000Z') };
    const filled = links.fillLinks(body, recipient);
    expect(filled).toBe(links.fillLinks(body, recipient));
    const [add, end] = [...filled.matchAll(/t=(\S+)/g)].map((m) => links.verify(m[1]!, before));
    expect(add).toEqual({ ok: true, payload: { action: 'ADD_DATES', registrationId: 'r-1', userId: 'u-1', nonce: 'e-1:MENTOR:ADD_DATES', expiresAt: '2026-10-12T08:00:00.000Z' } });
    expect(end!.ok && end!.payload.action).toBe('MISSION_ENDED');
    expect(useKey((add as { payload: LinkPayload }).payload)).toBe('one-click-link:e-1:MENTOR:ADD_DATES');
  });
});
