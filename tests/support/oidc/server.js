// A real OpenID Provider (panva/oidc-provider) for Patchbay's tests, on 127.0.0.1 only.
//
//   node server.js --port 0 --keys keys.json [--issuer-path /x]
//
// keys.json is {"keys": [private JWK, ...]}; the first key signs (the tests restart the server with a
// new first key to rotate). It prints "listening <issuer>" once ready.
//
// Clients (all client_credentials, JWT access tokens for any resource indicator):
//   admin-svc / admin-secret      roles [patchbay-admins]
//   replayer  / replayer-secret   roles [replayers]
//   nobody    / nobody-secret     no roles
//   browser   / (public, PKCE)    authorization code for people: login any name, roles [patchbay-admins]
//                                 (none for names starting with "guest"); --redirect-uri adds redirect URIs
// Access tokens live 300 s, or 5 s for resources ending in "/short-lived" (expiry tests).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    keys: { type: 'string' },
    'issuer-path': { type: 'string', default: '' },
    'redirect-uri': { type: 'string', multiple: true, default: [] },
  },
});
const jwks = JSON.parse(readFileSync(values.keys, 'utf8'));
const ROLES = { 'admin-svc': ['patchbay-admins'], replayer: ['replayers'], browser: ['patchbay-admins'] };

function configuration(issuer) {
  return {
    jwks,
    clients: [
      ...['admin-svc', 'replayer', 'nobody'].map((id) => ({
        client_id: id,
        client_secret: `${id.split('-')[0]}-secret`,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'api',
      })),
      {
        client_id: 'browser',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback', ...values['redirect-uri']],
        scope: 'openid api',
      },
    ],
    scopes: ['openid', 'api'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: true }, // the stock login form: any name, any password
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'api',
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: resource.endsWith('/short-lived') ? 5 : 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: { required: () => true },
    extraTokenClaims: (ctx, token) => {
      if (token.kind !== 'AccessToken' && token.kind !== 'ClientCredentials') return undefined;
      if (token.accountId?.startsWith('guest')) return { roles: [] }; // a person without roles
      return { roles: ROLES[token.clientId] ?? [] };
    },
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    loadExistingGrant: undefined,
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

const port = Number(values.port);
// Bind first so a port of 0 works: the issuer must name the real port.
const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}${values['issuer-path']}`;
  const provider = new Provider(issuer, configuration(issuer));
  const handle = provider.callback();
  const prefix = values['issuer-path'];
  server.on('request', (req, res) => {
    // Mounted under a path (a second "realm" on its own issuer): strip it, as a router would.
    if (prefix && req.url.startsWith(prefix)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
    }
    handle(req, res);
  });
  process.stdout.write(`listening ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
