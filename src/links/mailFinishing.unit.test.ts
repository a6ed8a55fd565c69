import { keyRing } from '../graphql/auth';
import { mailFinishing } from './mailFinishing';
import { linkMarker, OneClickLinks } from './oneClickLinks';

const row = {
  id: 'e-1:MENTOR',
  kind: 'REGISTRATION_REMINDER',
  recipientRole: 'MENTOR',
  recipientUserId: 'u-1',
  toAddress: 'vera@example.org',
  body: `Add your dates: ${linkMarker('ADD_DATES', 'r-1')}\nMission over? ${linkMarker('MISSION_ENDED', 'r-1')}\n`,
  createdAt: new Date('2026-10-05T08:00:00.000Z'),
};

describe('the last touches of an e-mail', () => {
  it('put signed links in place of the markers when the server has a local key', () => {
    const links = new OneClickLinks(keyRing([{ kid: 'k', secret: 'k'.repeat(40) }]), 'https://m.example', 86_400_000);
    const { body } = mailFinishing({ links, adminNotificationEmail: undefined })(row);
    expect(body).toMatch(/^Add your dates: https:\/\/m\.example\/links\?t=\S+\nMission over\? https:\/\/m\.example\/links\?t=\S+\n$/);
  });

  it('without a local key (identity provider only) say to sign in instead, leaving no marker behind', () => {
    const { body, toAddress } = mailFinishing({ links: null, adminNotificationEmail: undefined })(row);
    expect(body).toBe('Add your dates: (sign in to your dashboard)\nMission over? (sign in to your dashboard)\n');
    expect(toAddress).toBe('vera@example.org');
  });
});
