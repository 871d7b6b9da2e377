// An independent OpenID Connect provider for Agora's sign-in tests: the OpenID-certified
// `oidc-provider` package, on 127.0.0.1 only, with its built-in development login pages.
//
// Environment:
//   PORT               the port to listen on (127.0.0.1)
//   CLIENTS_JSON       a JSON list of clients: [{client_id, client_secret, redirect_uris,
//                      post_logout_redirect_uris}]
//   ACCOUNTS_JSON      a JSON object {login: {claims...}}; the development login page accepts
//                      any password, and the login name picks the account
//
// Test-only control routes (loopback only, never in a real provider):
//   POST /control/accounts/<login>   merge the JSON body into that account's claims
//   POST /control/reset              restore the accounts from ACCOUNTS_JSON
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.CLIENTS_JSON);
const initialAccounts = JSON.parse(process.env.ACCOUNTS_JSON);
let accounts = structuredClone(initialAccounts);

const AGORA_CLAIMS = ['agency', 'department', 'job_title', 'employee_id'];

const configuration = {
  clients: clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', ...AGORA_CLAIMS],
  },
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...accounts[id] };
      },
    };
  },
  // First-party clients: grant the requested scopes without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ['agora-test-provider-only'] },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
};

const provider = new Provider(issuer, configuration);

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

const callback = provider.callback();

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname.startsWith('/control/')) {
    try {
      if (url.pathname === '/control/reset') {
        accounts = structuredClone(initialAccounts);
      } else {
        const login = decodeURIComponent(url.pathname.slice('/control/accounts/'.length));
        const changes = await readJson(req);
        accounts[login] = { ...(accounts[login] || {}), ...changes };
        for (const [key, value] of Object.entries(changes)) {
          if (value === null) {
            delete accounts[login][key];
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    } catch (error) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    }
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
