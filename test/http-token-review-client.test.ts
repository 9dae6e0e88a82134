import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTokenReviewClient,
  TokenReviewHttpError,
  TokenReviewTransportError,
} from '../src/verify/token-review-client.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXNlY3JldA';

/** How the fake upstream answers: status, content type and body built from the request body. */
let answer: { status: number; type: string; body: (request: string) => string };

let server: Server;
let host: string;

/** An API server's error answer: a Kubernetes `Status` with `message`. */
const statusAnswer = (code: number, message: string): typeof answer => ({
  status: code,
  type: 'application/json',
  body: () => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }),
});

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(answer.status, { 'content-type': answer.type });
      res.end(answer.body(Buffer.concat(chunks).toString('utf8')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const reviewError = async (): Promise<Error> => {
  const client = createTokenReviewClient({ host, caCert: undefined, timeoutMs: 2000 });
  try {
    await client.review(TOKEN, ['vault'], 'reviewer-bearer');
  } catch (err) {
    return err as Error;
  } finally {
    client.close();
  }
  throw new Error('the review did not fail');
};

describe('TokenReview client errors', () => {
  it('keeps only the status and content type of an error page that echoes the request', async () => {
    answer = {
      status: 502,
      type: 'text/html; charset=utf-8',
      body: (request) => `<html><body>Bad gateway while forwarding ${request}</body></html>`,
    };
    const err = await reviewError();
    expect(err).toBeInstanceOf(TokenReviewHttpError);
    expect((err as TokenReviewHttpError).status).toBe(502);
    expect(err.message).toContain('text/html');
    expect(err.message).not.toContain(TOKEN.slice(0, 20));
    expect(err.message).not.toContain('Bad gateway');
  });

  it('does not echo a JSON error body that is not a Kubernetes Status', async () => {
    answer = {
      status: 500,
      type: 'application/json',
      body: (request) => JSON.stringify({ message: request }),
    };
    const err = await reviewError();
    expect(err).toBeInstanceOf(TokenReviewHttpError);
    expect(err.message).not.toContain(TOKEN.slice(0, 20));
  });

  it('still reports the message of a Kubernetes Status', async () => {
    answer = statusAnswer(403, 'tokenreviews.authentication.k8s.io is forbidden');
    const err = await reviewError();
    expect(err.message).toBe('tokenreviews.authentication.k8s.io is forbidden');
  });

  it('does not quote a 2xx body that is not valid JSON', async () => {
    // A truncated TokenReview echo: JSON.parse would quote its start in its message.
    answer = { status: 200, type: 'application/json', body: (request) => request.slice(0, -3) };
    const err = await reviewError();
    expect(err).toBeInstanceOf(TokenReviewTransportError);
    expect(err.message).not.toContain(TOKEN.slice(0, 20));
    expect(err.cause).toBeUndefined();
  });
});

describe('TokenReview client connections', () => {
  /** A TokenReview answer that says the token is valid. */
  const reviewed = (body: string) =>
    JSON.stringify({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: JSON.parse(body).spec,
      status: {
        authenticated: true,
        audiences: ['vault'],
        user: { username: 'system:serviceaccount:test:nginx' },
      },
    });

  /**
   * An upstream that answers the first request of every connection and drops the connection on
   * any later one without a word: what a reused keep-alive connection meets when the server (or a
   * load balancer between) closed it while idle, just as the client sent on it.
   */
  const droppingUpstream = async (dropEvery = true) => {
    const perSocket = new WeakMap<object, number>();
    let connections = 0;
    const upstream = createServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (n > 1 || !dropEvery) {
          req.socket.destroy();
          return;
        }
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(reviewed(Buffer.concat(chunks).toString('utf8')));
      });
    });
    upstream.on('connection', () => connections++);
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    return {
      host: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      connections: () => connections,
      close: () => new Promise((resolve) => upstream.close(resolve)),
    };
  };

  it('sends a review again, once, on a new connection when a reused one is dropped', async () => {
    const upstream = await droppingUpstream();
    const client = createTokenReviewClient({ host: upstream.host, caCert: undefined, timeoutMs: 2000 });
    try {
      expect((await client.review(TOKEN, ['vault'], 'reviewer')).authenticated).toBe(true);
      // The keep-alive connection is reused, dropped, and the review goes out again on a new one.
      expect((await client.review(TOKEN, ['vault'], 'reviewer')).authenticated).toBe(true);
      expect(upstream.connections()).toBe(2);
    } finally {
      client.close();
      await upstream.close();
    }
  });

  it('gives up after the second try when every connection is dropped', async () => {
    const upstream = await droppingUpstream(false);
    const client = createTokenReviewClient({ host: upstream.host, caCert: undefined, timeoutMs: 2000 });
    try {
      const err = await client.review(TOKEN, ['vault'], 'reviewer').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TokenReviewTransportError);
      expect(upstream.connections()).toBe(2);
    } finally {
      client.close();
      await upstream.close();
    }
  });
});

describe('namespace reads', () => {
  const read = async (name: string) => {
    const client = createTokenReviewClient({ host, caCert: undefined, timeoutMs: 2000 });
    try {
      return await client.readNamespaceLabels(name, 'reviewer-bearer');
    } finally {
      client.close();
    }
  };
  const namespace = (name: string, labels?: unknown) =>
    JSON.stringify({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: { name, ...(labels ? { labels } : {}) },
    });

  it('answers the labels of the namespace, {} when it has none, undefined for a 404', async () => {
    answer = { status: 200, type: 'application/json', body: () => namespace('web-a', { team: 'web' }) };
    expect(await read('web-a')).toEqual({ team: 'web' });
    answer = { status: 200, type: 'application/json', body: () => namespace('bare') };
    expect(await read('bare')).toEqual({});
    answer = statusAnswer(404, 'namespaces "gone" not found');
    expect(await read('gone')).toBeUndefined();
  });

  it.each([
    ['another namespace', namespace('other', { team: 'web' })],
    ['labels that are not strings', namespace('web-a', { team: 1 })],
    ['a body that is not a namespace', '{}'],
  ])('takes no labels from %s', async (_what, body) => {
    answer = { status: 200, type: 'application/json', body: () => body };
    await expect(read('web-a')).rejects.toBeInstanceOf(TokenReviewTransportError);
  });

  it('passes a refusal on with its status and Kubernetes message', async () => {
    answer = statusAnswer(403, 'namespaces "web-a" is forbidden');
    await expect(read('web-a')).rejects.toMatchObject({
      status: 403,
      message: 'namespaces "web-a" is forbidden',
    });
  });
});
