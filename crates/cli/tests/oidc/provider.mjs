// A real OpenID provider (npm's oidc-provider, an OpenID Certified implementation) for the
// sign-in test: one confidential client, the authorization code flow with PKCE required, and the
// development login page, where any login name signs in as `<name>@example.com`, verified.
//
// Environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI. It listens on a free port of
// 127.0.0.1 and prints one line, `listening <issuer>`, once it accepts connections.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

// The provider's own notices go to stderr; stdout carries the one line the test reads.
console.info = console.warn = console.log = (...args) => process.stderr.write(`${args.join(' ')}\n`);

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`missing ${name}\n`);
    process.exit(2);
  }
  return value;
};

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

// Listen first: the issuer names the port.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID'),
    client_secret: env('OIDC_CLIENT_SECRET'),
    redirect_uris: [env('OIDC_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    const email = id.includes('@') ? id : `${id}@example.com`;
    return { accountId: id, async claims() { return { sub: id, email, email_verified: true, name: id }; } };
  },
  scopes: ['openid', 'email', 'profile'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The email and name in the ID token itself, not only from the userinfo endpoint.
  conformIdTokenClaims: false,
  // PKCE for this confidential client too.
  pkce: { required: () => true },
  clientBasedCORS: () => false,
  features: { devInteractions: { enabled: true }, userinfo: { enabled: true } },
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  jwks: { keys: [signingKey] },
});
provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
