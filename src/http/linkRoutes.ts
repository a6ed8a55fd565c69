import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InitiativeCommands } from '../application/initiativeCommands';
import type { CommandContext } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';
import type { EventStore } from '../eventstore/eventStore';
import { useKey, type LinkPayload, type OneClickLinks } from '../links/oneClickLinks';
import type { HttpRoute } from './routes';

/**
 * `GET /links?t=<signed link>` and `POST /links`: where the one-click links of the reminder e-mails
 * land (src/links/oneClickLinks.ts). The GET only shows a small page (mail scanners open links to
 * check them, and must not use them up); the page's button POSTs the link back, and only that acts:
 * it adds the dates, or marks the mission ended, as the volunteer, under the link's one-time key.
 * A link that is forged, expired or already used gets a page saying so and what to do instead.
 */

export const LINKS_PATH = '/links';
const MAX_FORM_BYTES = 8 * 1024;
const REASON = 'One-click link in a reminder e-mail';

export interface LinkRouteOptions {
  readonly links: OneClickLinks | null;
  readonly initiatives: Pick<InitiativeCommands, 'readRegistration' | 'setEngagementDates' | 'completeMission'>;
  readonly store: Pick<EventStore, 'readIdempotencyKey'>;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly onError?: (error: unknown) => void;
}

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const page = (response: ServerResponse, status: number, title: string, content: string): void => {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#222}
h1{font-size:1.4rem}label{display:block;margin:.75rem 0 .25rem}button{margin-top:1rem;padding:.5rem 1.25rem;font-size:1rem}
.note{color:#555;font-size:.9rem}</style></head>
<body><h1>${escape(title)}</h1>${content}</body></html>`;
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // The link is a one-time capability: it must not leak through a Referer, a frame or a cache.
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
  });
  response.end(html);
};

const para = (text: string, className?: string) => `<p${className ? ` class="${className}"` : ''}>${escape(text)}</p>`;
const DASHBOARD = 'You can still do this from your dashboard after signing in.';

const readForm = (request: IncomingMessage): Promise<URLSearchParams | null> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', reject);
  });

const describePeriods = (periods: readonly { start: string; end: string | null }[]): string =>
  periods.length === 0 ? '<p>No dates entered yet.</p>' : `<ul>${periods.map((p) => `<li>${escape(p.start)} to ${escape(p.end ?? '(ongoing)')}</li>`).join('')}</ul>`;

export const linkRoutes = (options: LinkRouteOptions): HttpRoute[] => {
  /** The link's payload, or the page already answered. */
  const check = async (response: ServerResponse, token: string | null): Promise<LinkPayload | null> => {
    if (options.links === null) {
      page(response, 503, 'Links are not available', para(`This service has no signing key configured. ${DASHBOARD}`));
      return null;
    }
    const result = options.links.verify(token ?? '', options.clock());
    if (!result.ok) {
      if (result.reason === 'EXPIRED') {
        page(response, 410, 'This link has expired', para(`Links in our e-mails work for a limited time. ${DASHBOARD}`));
      } else {
        page(response, 400, 'This link is not valid', para(`The address may have been cut or changed when it was copied. ${DASHBOARD}`));
      }
      return null;
    }
    if (await options.store.readIdempotencyKey(useKey(result.payload))) {
      page(response, 409, 'This link was already used', para(`Each link in our e-mails works once, and this one has done its work. ${DASHBOARD}`));
      return null;
    }
    return result.payload;
  };

  const registrationOf = async (payload: LinkPayload) => {
    const registration = await options.initiatives.readRegistration(payload.registrationId);
    return registration.status !== 'NOT_REGISTERED' && registration.userId === payload.userId ? registration : null;
  };

  const form = (token: string, payload: LinkPayload, periods: readonly { start: string; end: string | null }[], error?: string) => {
    const hidden = `<input type="hidden" name="t" value="${escape(token)}">`;
    const problem = error ? `<p role="alert"><strong>${escape(error)}</strong></p>` : '';
    if (payload.action === 'ADD_DATES') {
      return `${problem}<p>Your engagement dates so far:</p>${describePeriods(periods)}
<form method="post" action="${LINKS_PATH}">${hidden}
<label for="start">First day</label><input id="start" name="start" type="date" required>
<label for="end">Last day (leave empty if it goes on)</label><input id="end" name="end" type="date">
<br><button type="submit">Add these dates</button></form>${para('This link works once.', 'note')}`;
    }
    return `${problem}${para('Confirm that your mentoring mission has ended. You will then be asked to confirm your participation.')}
<form method="post" action="${LINKS_PATH}">${hidden}<button type="submit">The mission has ended</button></form>${para('This link works once.', 'note')}`;
  };

  const titleOf = (payload: LinkPayload) => (payload.action === 'ADD_DATES' ? 'Add engagement dates' : 'Your mission has ended');

  const show: HttpRoute = {
    method: 'GET',
    path: LINKS_PATH,
    handle: async (_request, response, url) => {
      try {
        const token = url.searchParams.get('t');
        const payload = await check(response, token);
        if (!payload) return;
        const registration = await registrationOf(payload);
        if (!registration) return page(response, 400, 'This link is not valid', para(DASHBOARD));
        page(response, 200, titleOf(payload), form(token!, payload, registration.periods));
      } catch (error) {
        options.onError?.(error);
        if (!response.headersSent) page(response, 500, 'Something went wrong', para(`Please try again in a moment. ${DASHBOARD}`));
      }
    },
  };

  const act: HttpRoute = {
    method: 'POST',
    path: LINKS_PATH,
    handle: async (request, response) => {
      try {
        const fields = await readForm(request);
        if (fields === null) return page(response, 413, 'The form is too large', para(DASHBOARD));
        const token = fields.get('t');
        const payload = await check(response, token);
        if (!payload) return;
        const registration = await registrationOf(payload);
        if (!registration) return page(response, 400, 'This link is not valid', para(DASHBOARD));
        const now = options.clock();
        const context: CommandContext = {
          // The volunteer acts, as with their own mentor token; the link's nonce makes it happen once.
          actor: { id: payload.userId, role: 'mentor' },
          now: now.toISOString(),
          correlationId: options.newId(),
          reason: REASON,
          idempotencyKey: useKey(payload),
        };
        try {
          if (payload.action === 'ADD_DATES') {
            const start = (fields.get('start') ?? '').trim();
            const end = (fields.get('end') ?? '').trim() || null;
            if (start === '') return page(response, 400, titleOf(payload), form(token!, payload, registration.periods, 'Enter the first day.'));
            const outcome = await options.initiatives.setEngagementDates(context, payload.registrationId, [...registration.periods, { start, end }]);
            if (outcome.duplicate) return page(response, 409, 'This link was already used', para(DASHBOARD));
            return page(response, 200, 'Thank you: your dates were added', describePeriods([...registration.periods, { start, end }]));
          }
          const outcome = await options.initiatives.completeMission(context, payload.registrationId);
          if (outcome.duplicate) return page(response, 409, 'This link was already used', para(DASHBOARD));
          return page(response, 200, 'Thank you: your mission is marked as ended', para('You will be asked to confirm your participation.'));
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          if (payload.action === 'ADD_DATES' && error.code === 'VALIDATION_FAILED') {
            return page(response, 400, titleOf(payload), form(token!, payload, registration.periods, error.message));
          }
          return page(response, 409, 'This could not be done', para(error.message) + para(DASHBOARD));
        }
      } catch (error) {
        options.onError?.(error);
        if (!response.headersSent) page(response, 500, 'Something went wrong', para(`Please try again in a moment. ${DASHBOARD}`));
      }
    },
  };
  return [show, act];
};
