// A real OpenID Connect provider for the browser tests of staff single sign-on: panva's certified
// `oidc-provider` (it issues the codes and signs the ID tokens itself), with a one-field sign-in
// page of our own in place of its development interactions.
//
// Usage (all settings from the environment; run with node from tests/browser):
//   OIDC_PORT=4455 \
//   OIDC_CLIENT_ID=thaw OIDC_CLIENT_SECRET=s3cret \
//   OIDC_REDIRECT_URI=http://127.0.0.1:8080/staff/oidc/callback \
//   OIDC_USERS='[{"sub":"u-1","email":"wang.fang@desk.example","name":"Wang Fang","thaw_role":"supervisor"}]' \
//   node oidc-provider.mjs
// Optional: OIDC_ID_TOKEN_ALG = RS256 (default) | ES256 | EdDSA, the ID token's signature.
//
// Prints exactly one line on stdout once listening: `OIDC ready http://127.0.0.1:PORT` (the
// issuer; everything else goes to stderr, where oidc-provider warns about the in-memory store
// and, on Node 20, about the runtime; both are harmless here). Stop it with SIGTERM.
//
// The provider: issuer http://127.0.0.1:PORT, discovery at /.well-known/openid-configuration,
// authorisation endpoint /auth, token endpoint /token, JWKS /jwks. One client (OIDC_CLIENT_ID)
// authenticating with client_secret_basic, redirect URI exactly OIDC_REDIRECT_URI, response type
// `code` only, PKCE required (S256 only). The ID token carries sub, email, email_verified (true),
// name and thaw_role (copied as given in OIDC_USERS: a string or an array of strings): sub and
// thaw_role for scope `openid`, email and email_verified for `email`, name for `profile`. Consent is given automatically (a first-party client).
//
// What a browser does (Playwright):
//   1. thaw redirects the browser to http://127.0.0.1:PORT/auth?...; the provider redirects on to
//      its sign-in page http://127.0.0.1:PORT/interaction/<uid> (title "Sign in — test
//      provider"), with
//        form#login (method POST, action /interaction/<uid>/login)
//        input#email  (name="email", type="email"): type the user's email from OIDC_USERS
//                      (case does not matter)
//        button#sign-in (type="submit", text "Sign in")
//      e.g.  await page.waitForSelector('#email');
//            await page.fill('#email', 'wang.fang@desk.example');
//            await page.click('#sign-in');
//            await page.waitForURL((u) => !u.href.startsWith(issuer));
//   2. The provider then redirects (303s, no page to click) through /auth/<uid> and the
//      automatic consent back to OIDC_REDIRECT_URI?code=...&state=...&iss=... — thaw takes it
//      from there.
//   An unknown email shows the same form again with p#error ("No user with this email.") and
//   status 200; button#cancel-button (in form#cancel) abandons the sign-in: the browser returns to
//   OIDC_REDIRECT_URI?error=access_denied&state=...
//   Once signed in, the browser keeps a provider session (cookie oidc_session): a second sign-in
//   in the same browser context skips step 1 and comes straight back with a code (to sign in as
//   someone else, use a new context, clear the cookies, or send prompt=login).
// The provider's cookies (oidc_session, oidc_interaction, oidc_resume) cannot collide with
// thaw's although both run on 127.0.0.1 (cookies ignore the port).
import http from 'node:http';
import crypto from 'node:crypto';
import { Provider } from 'oidc-provider';

// oidc-provider prints notices with console.info; stdout is reserved for the ready line.
console.info = (...args) => console.error(...args);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('OIDC_PORT'));
const clientId = required('OIDC_CLIENT_ID');
const clientSecret = required('OIDC_CLIENT_SECRET');
const redirectUri = required('OIDC_REDIRECT_URI');
const users = JSON.parse(required('OIDC_USERS'));
const idTokenAlg = process.env.OIDC_ID_TOKEN_ALG || 'RS256';
if (!Array.isArray(users) || users.some((u) => !u.sub || !u.email)) {
  console.error('oidc-provider.mjs: OIDC_USERS must be a JSON array of {"sub","email","name","thaw_role"}');
  process.exit(2);
}
if (!['RS256', 'ES256', 'EdDSA'].includes(idTokenAlg)) {
  console.error('oidc-provider.mjs: OIDC_ID_TOKEN_ALG must be RS256, ES256 or EdDSA');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

/** A fresh private signing key as a JWK. */
function signingKey(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-${crypto.randomUUID()}`, alg, use: 'sig' };
}

const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
    signingKey('ed25519', {}, 'EdDSA'),
  ],
};

const bySub = new Map(users.map((u) => [String(u.sub), u]));
const byEmail = new Map(users.map((u) => [String(u.email).toLowerCase(), u]));

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: idTokenAlg,
    },
  ],
  jwks,
  responseTypes: ['code'],
  pkce: { required: () => true },
  // Released claims go into the ID token itself, not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub', 'thaw_role'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, sub) {
    const user = bySub.get(String(sub));
    if (!user) return undefined;
    return {
      accountId: String(user.sub),
      async claims() {
        const claims = { sub: String(user.sub), email: user.email, email_verified: true };
        if (user.name !== undefined) claims.name = user.name;
        if (user.thaw_role !== undefined) claims.thaw_role = user.thaw_role;
        return claims;
      },
    };
  },
  features: {
    devInteractions: { enabled: false },
    // Not needed by thaw; off so the discovery document stays small.
    introspection: { enabled: false },
    revocation: { enabled: false },
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    names: { session: 'oidc_session', interaction: 'oidc_interaction', resume: 'oidc_resume' },
  },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1><p id="oidc-error">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
  },
});

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} — test provider</title></head><body>${body}</body></html>`;
}

function loginPage(uid, error, email) {
  return page(
    'Sign in',
    `<h1>Sign in to the test provider</h1>
${error ? `<p id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${esc(email || '')}">
  <button id="sign-in" type="submit">Sign in</button>
</form>
<form id="cancel" method="post" action="/interaction/${esc(uid)}/abort">
  <button id="cancel-button" type="submit" name="cancel" value="1">Cancel</button>
</form>`,
  );
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

/** Grants what the client asked for (a first-party client: no consent screen). */
async function consent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  if (prompt.details.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res, url) {
  const m = url.pathname.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/);
  if (!m) return send(res, 404, page('Not found', '<p>Not found.</p>'));
  const [, uid, action] = m;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Error', '<p>Stale sign-in; start again.</p>'));
  if (!action && req.method === 'GET') {
    if (details.prompt.name === 'login') return send(res, 200, loginPage(uid));
    if (details.prompt.name === 'consent') return consent(req, res, details);
    return send(res, 501, page('Error', `<p>Prompt ${esc(details.prompt.name)} is not implemented.</p>`));
  }
  if (req.method !== 'POST') return send(res, 405, page('Error', '<p>Method not allowed.</p>'));
  const form = await formBody(req);
  if (action === '/abort') {
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
  }
  if (details.prompt.name !== 'login') return send(res, 400, page('Error', '<p>Not signing in.</p>'));
  const email = (form.get('email') || '').trim();
  const user = byEmail.get(email.toLowerCase());
  if (!user) return send(res, 200, loginPage(uid, 'No user with this email.', email));
  return provider.interactionFinished(req, res, { login: { accountId: String(user.sub) } }, { mergeWithLastSubmission: false });
}

provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/interaction/')) {
    interaction(req, res, url).catch((err) => {
      console.error('interaction failed:', err);
      if (!res.headersSent) send(res, 400, page('Error', `<p id="oidc-error">${esc(err.message)}</p>`));
    });
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`OIDC ready ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
